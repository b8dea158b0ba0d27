package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// RemovePodSandbox removes the sandbox, its containers, its network and its
// checkpoint. An unknown id is success.
func (s *Service) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	id, ok, err := s.resolveIdempotent(ctx, naming.TypeSandbox, req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	if !ok {
		unlock, err := s.locks.lock(ctx, lockSandbox, req.PodSandboxId)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if err := s.teardownFromCheckpoint(ctx, req.PodSandboxId, nil, false); err != nil {
			return nil, err
		}
		if checkpointIDRE.MatchString(req.PodSandboxId) {
			if err := s.ckpt.Delete(req.PodSandboxId); err != nil {
				return nil, err
			}
		}
		return &runtimeapi.RemovePodSandboxResponse{}, nil
	}
	if err := s.removeSandbox(ctx, id); err != nil {
		return nil, err
	}
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}

// removeSandbox removes a resolved sandbox: containers first, so that a
// failure half-way leaves a sandbox that can be removed again, never
// containers without their sandbox. It takes the sandbox's lock, and each
// container's in turn; a second call waits and then finds nothing left.
func (s *Service) removeSandbox(ctx context.Context, id string) error {
	unlock, err := s.locks.lock(ctx, lockSandbox, id)
	if err != nil {
		return err
	}
	defer unlock()
	ctrs, err := s.sandboxContainers(ctx, id)
	if err != nil {
		return err
	}
	for _, c := range ctrs {
		if err := s.removeContainerLocked(ctx, c.ID); err != nil {
			return fmt.Errorf("remove container %s of sandbox %s: %w", c.ID, id, err)
		}
	}
	sb, err := s.eng.InspectContainer(ctx, id)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("inspect sandbox %s: %w", id, err)
	}
	if err != nil {
		sb = nil
	}
	if err := s.teardownFromCheckpoint(ctx, id, sb, false); err != nil {
		return err
	}
	if err := s.forceRemove(ctx, id); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if s.cfg.Stats != nil {
		s.cfg.Stats.Forget(id) // the pod's cgroup and network counters
	}
	return s.ckpt.Delete(id)
}
