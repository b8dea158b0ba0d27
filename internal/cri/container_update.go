package cri

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdateContainerResources applies new CPU/memory limits to a container.
// Docker cannot change the OOM score of a created container; a changed
// score is ignored there, as the kubelet never changes it.
func (s *Service) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	if err := validateID("container", req.ContainerId); err != nil {
		return nil, err
	}
	if req.Linux == nil {
		if req.Windows != nil {
			return nil, unimplementedf("windows resources on a Linux engine")
		}
		return nil, invalidf("update container resources: linux resources are nil")
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
