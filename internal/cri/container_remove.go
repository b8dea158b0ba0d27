package cri

import (
	"context"
	"errors"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// RemoveContainer removes a container, running or not. An unknown id is
// success. The log file stays: the kubelet owns its lifetime.
func (s *Service) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	if err := validateID("container", req.ContainerId); err != nil {
		return nil, err
	}
	id, ok, err := s.resolveIdempotent(ctx, naming.TypeContainer, req.ContainerId)
	if err != nil || !ok {
		return &runtimeapi.RemoveContainerResponse{}, err
	}
	if err := s.removeContainer(ctx, id); err != nil {
		return nil, err
	}
	return &runtimeapi.RemoveContainerResponse{}, nil
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
	if err := s.eng.RemoveContainer(ctx, id, engine.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}
