package cri

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// workingSet reports every container's working set as ws bytes.
type workingSet struct {
	stubStats
	ws uint64
}

func (w workingSet) ContainerStats(_ context.Context, ref ContainerStatsRef) (*runtimeapi.ContainerStats, error) {
	return &runtimeapi.ContainerStats{Attributes: ref.Attributes, Memory: &runtimeapi.MemoryUsage{WorkingSetBytes: &runtimeapi.UInt64Value{Value: w.ws}}}, nil
}

// A memory limit below what a running container's processes hold cannot
// be met by the kernel (it reclaims, keeps the update and the container
// waiting, then fails): refused at once, saying why.
func TestUpdateMemoryBelowWorkingSetRefused(t *testing.T) {
	h := newHarness(t)
	h.svc.cfg.Stats = workingSet{ws: 50 << 20}
	sb := h.runSandbox("squeeze")
	id := h.createContainer(sb, "c")
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	updates := h.fake.CallCount("UpdateContainerResources")
	_, err := h.svc.UpdateContainerResources(h.ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: id,
		Linux: &runtimeapi.LinuxContainerResources{CpuShares: 2, MemoryLimitInBytes: 8 << 20}})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("limit below the working set: %v, want FailedPrecondition", err)
	}
	if n := h.fake.CallCount("UpdateContainerResources") - updates; n != 0 {
		t.Errorf("the update reached Docker (%d calls)", n)
	}
	if _, err := h.svc.UpdateContainerResources(h.ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: id,
		Linux: &runtimeapi.LinuxContainerResources{CpuShares: 2, MemoryLimitInBytes: 64 << 20}}); err != nil {
		t.Errorf("limit above the working set: %v", err)
	}
}
