package cri

import (
	"runtime"
	"sync"
	"weak"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Listed items are immutable (see list_shared.go), so each one's protobuf
// encoding is made once, when it is derived, and a List response made only
// of such items is encoded by appending them: marshalling 220 items with
// their label maps was the largest CPU share of a relist.
//
// wires maps an item (weakly: it does not keep the item alive) to its
// encoding; the entry goes when the item is collected.
var wires sync.Map // weak.Pointer[runtimeapi.PodSandbox] or weak.Pointer[runtimeapi.Container] → []byte

// rememberWire stores the encoding of a freshly derived, read-only item.
func rememberWire[T any, P interface {
	*T
	proto.Message
}](item P) {
	b, err := proto.Marshal(item)
	if err != nil {
		return // encoded the ordinary way then
	}
	key := weak.Make((*T)(item))
	wires.Store(key, b)
	runtime.AddCleanup((*T)(item), func(k weak.Pointer[T]) { wires.Delete(k) }, key)
}

func wireOf[T any](item *T) ([]byte, bool) {
	b, ok := wires.Load(weak.Make(item))
	if !ok {
		return nil, false
	}
	return b.([]byte), true
}

// appendRepeated encodes a message whose only field, number 1, is the
// repeated items, from their stored encodings; ok=false if one has none.
func appendRepeated[T any](items []*T) (mem.BufferSlice, bool) {
	parts := make([][]byte, len(items))
	n := 0
	for i, it := range items {
		b, ok := wireOf(it)
		if !ok {
			return nil, false
		}
		parts[i] = b
		n += protowire.SizeTag(1) + protowire.SizeBytes(len(b))
	}
	buf := make([]byte, 0, n)
	for _, b := range parts {
		buf = protowire.AppendTag(buf, 1, protowire.BytesType)
		buf = protowire.AppendBytes(buf, b)
	}
	return mem.BufferSlice{mem.SliceBuffer(buf)}, true
}

// marshalListed encodes the List responses from their items' stored
// encodings when every item has one.
func marshalListed(v any) (mem.BufferSlice, bool) {
	switch r := v.(type) {
	case *runtimeapi.ListPodSandboxResponse:
		if len(r.ProtoReflect().GetUnknown()) == 0 {
			return appendRepeated(r.Items)
		}
	case *runtimeapi.ListContainersResponse:
		if len(r.ProtoReflect().GetUnknown()) == 0 {
			return appendRepeated(r.Containers)
		}
	}
	return nil, false
}
