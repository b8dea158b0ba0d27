package main

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The relist without decoding its reply: the server's and the transport's
// share of a List call. The rest of a List's latency is the client's
// decoding of the items (each with its labels and annotations), which a
// kubelet pays whatever runtime answers — at 250 pods about as much as
// the rest together on a 2-core machine.

// rawReply keeps a reply's bytes undecoded.
type rawReply struct{}

func (rawReply) Name() string { return "proto" }

func (rawReply) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (rawReply) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

var _ encoding.CodecV2 = rawReply{}

// undecodedCalls are the relist pair, replies left undecoded.
func (b *bench) undecodedCalls() []namedCall {
	invoke := func(method string, req proto.Message) callFn {
		return func(c context.Context, _ int) error {
			var reply []byte
			return b.conn.Invoke(c, "/runtime.v1.RuntimeService/"+method, req, &reply, grpc.ForceCodecV2(rawReply{}))
		}
	}
	return []namedCall{
		{"ListPodSandbox undecoded", false, invoke("ListPodSandbox", &runtimeapi.ListPodSandboxRequest{})},
		{"ListContainers undecoded", false, invoke("ListContainers", &runtimeapi.ListContainersRequest{})},
	}
}
