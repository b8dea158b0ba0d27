package cri

import (
	"context"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// BenchmarkStatsRPCs measures the CRI side of the kubelet's stats cycle at
// 110 pods over the cached fake engine: listing, resolving and building the
// collector's refs. The collector is a stub, so the cgroup reads (measured
// by internal/stats' own benchmarks) are not included.
func BenchmarkStatsRPCs(b *testing.B) {
	ctx := context.Background()
	n := newCachedNode(b, 110)
	svc := n.svc
	b.Run("ListContainerStats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := svc.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
			if err != nil || len(r.Stats) != 110 {
				b.Fatal(len(r.GetStats()), err)
			}
		}
	})
	b.Run("ListPodSandboxStats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := svc.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{})
			if err != nil || len(r.Stats) != 110 {
				b.Fatal(len(r.GetStats()), err)
			}
		}
	})
	b.Run("ContainerStats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: n.ctrs[0]}); err != nil {
				b.Fatal(err)
			}
		}
	})
	n.fake.ResetCalls()
	if _, err := svc.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{}); err != nil {
		b.Fatal(err)
	}
	if calls := n.fake.Calls(); len(calls) > 0 {
		b.Fatalf("ListContainerStats reached the engine: %v", calls)
	}
}
