package cri

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// RemoveContainer removes a container, running or not. An unknown id is
// success. The log file stays: the kubelet owns its lifetime.
func (s *Service) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	id, ok, err := s.resolveIdempotent(ctx, naming.TypeContainer, req.ContainerId)
	if err != nil || !ok {
		return &runtimeapi.RemoveContainerResponse{}, err
	}
	if err := s.removeContainerLocked(ctx, id); err != nil {
		return nil, err
	}
	return &runtimeapi.RemoveContainerResponse{}, nil
}

// removeContainerLocked is removeContainer under the container's lock.
func (s *Service) removeContainerLocked(ctx context.Context, id string) error {
	unlock, err := s.locks.lock(ctx, lockContainer, id)
	if err != nil {
		return err
	}
	defer unlock()
	return s.removeContainer(ctx, id)
}

// removeContainer force-removes a resolved managed container.
func (s *Service) removeContainer(ctx context.Context, id string) error {
	if s.cfg.Logs != nil {
		s.cfg.Logs.Stop(id)
	}
	s.drains.forget(id)
	if s.cfg.Stats != nil {
		s.cfg.Stats.Forget(id)
	}
	return s.forceRemove(ctx, id)
}

// forceRemove removes a Docker container. A removal that fails because
// another one is under way (Docker: "removal … is already in progress")
// succeeds once the container is gone: Remove is idempotent, whoever
// finishes it.
func (s *Service) forceRemove(ctx context.Context, id string) error {
	err := s.eng.RemoveContainer(ctx, id, engine.RemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil || errdefs.IsNotFound(err) {
		return nil
	}
	if !errdefs.IsConflict(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(5 * time.Second)
	for {
		if _, ierr := s.eng.InspectContainer(ctx, id); errdefs.IsNotFound(ierr) {
			return nil
		}
		select {
		case <-t.C:
		case <-deadline:
			return fmt.Errorf("remove container %s: %w", id, err)
		case <-ctx.Done():
			return fmt.Errorf("remove container %s: %w", id, ctx.Err())
		}
	}
}
