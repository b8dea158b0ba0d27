package cri

import (
	"fmt"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func statsResponse(n int) *runtimeapi.ListContainerStatsResponse {
	r := &runtimeapi.ListContainerStatsResponse{}
	for i := range n {
		r.Stats = append(r.Stats, &runtimeapi.ContainerStats{
			Attributes: &runtimeapi.ContainerAttributes{
				Id:          fmt.Sprintf("%064x", i),
				Metadata:    &runtimeapi.ContainerMetadata{Name: fmt.Sprintf("c%d", i)},
				Labels:      map[string]string{"io.kubernetes.pod.name": fmt.Sprintf("pod-%d", i)},
				Annotations: map[string]string{"a": "b"},
			},
			Cpu:    &runtimeapi.CpuUsage{Timestamp: int64(i), UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: uint64(i)}},
			Memory: &runtimeapi.MemoryUsage{Timestamp: int64(i), WorkingSetBytes: &runtimeapi.UInt64Value{Value: 1 << 20}},
		})
	}
	return r
}

// A response is encoded whole and right whatever its size; one above the
// pool's small tiers gets a buffer of its own size, not gRPC's 1 MiB tier.
func TestResponseBuffers(t *testing.T) {
	for _, n := range []int{1, 20, 300, 2000} {
		resp := statsResponse(n)
		size := proto.Size(resp)
		bs, ok, err := marshalSized(resp)
		if !ok || err != nil {
			t.Fatalf("%d stats: ok %v, %v", n, ok, err)
		}
		got := &runtimeapi.ListContainerStatsResponse{}
		if err := proto.Unmarshal(bs.Materialize(), got); err != nil || !proto.Equal(got, resp) {
			t.Fatalf("%d stats (%d bytes): decodes to a different response (%v)", n, size, err)
		}
		if size > pooledMax {
			b, isSlice := bs[0].(mem.SliceBuffer)
			if len(bs) != 1 || !isSlice || cap(b) != size {
				t.Errorf("%d stats (%d bytes): buffer %T of capacity %d, want its own of %d", n, size, bs[0], cap(b), size)
			}
		}
		bs.Free()
	}
	if _, ok, _ := marshalSized("not a message"); ok {
		t.Error("a non-message was encoded")
	}
}
