package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdateContainerResources applies new CPU/memory limits to a container.
// Docker cannot change the OOM score of a created container; a changed
// score is ignored there, as the kubelet never changes it.
func (s *Service) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	if req.Linux == nil { // the gate admits Windows resources alone
		return nil, unimplementedf("windows resources on a Linux engine")
	}
	c, err := s.resolveContainer(ctx, req.ContainerId)
	if err != nil {
		return nil, err
	}
	unlock, err := s.locks.lock(ctx, lockContainer, c.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var r container.Resources
	if err := s.applyResources(&r, nil, req.Linux); err != nil {
		return nil, err
	}
	if err := s.checkMemoryBelowUse(ctx, c, r.Memory); err != nil {
		return nil, err
	}
	if err := s.eng.UpdateContainerResources(ctx, c.ID, r); err != nil {
		return nil, fmt.Errorf("update container %s: %w", c.ID, err)
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}

// UpdatePodSandboxResources is not something Docker can do for a pod as a
// whole; the kubelet treats Unimplemented here as "nothing to do".
func (s *Service) UpdatePodSandboxResources(ctx context.Context, req *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	return nil, unimplementedf("UpdatePodSandboxResources: Docker has no pod-level cgroup to update")
}

// checkMemoryBelowUse refuses a memory limit below what a running
// container's memory holds now that the kernel cannot take back (its
// working set: usage less inactive page cache). Lowering the limit under
// it has the kernel reclaim, which fails after a while — and, with the
// container's processes refaulting, can keep the update (and Docker's lock
// on the container, so every stop and inspect of it) waiting for seconds.
// The kubelet, too, holds a resize that would go below the usage.
func (s *Service) checkMemoryBelowUse(ctx context.Context, c *container.InspectResponse, limit int64) error {
	if limit <= 0 || s.cfg.Stats == nil || c.State == nil || !c.State.Running {
		return nil
	}
	st, err := s.cfg.Stats.ContainerStats(ctx, containerRef(c, nil))
	if err != nil {
		return nil // no figure: Docker (and the kernel) decide
	}
	if ws := st.GetMemory().GetWorkingSetBytes().GetValue(); ws > uint64(limit) {
		return fmt.Errorf("update container %s: memory limit %d bytes is below the %d bytes its processes use now (working set): the kernel could not reclaim them; lower the limit once the container uses less: %w",
			c.ID, limit, ws, errdefs.ErrFailedPrecondition)
	}
	return nil
}
