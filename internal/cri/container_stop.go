package cri

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// StopContainer stops a container with the given grace period (seconds).
// An unknown id is success.
func (s *Service) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	id, ok, err := s.resolveIdempotent(ctx, naming.TypeContainer, req.ContainerId)
	if err != nil || !ok {
		return &runtimeapi.StopContainerResponse{}, err
	}
	unlock, err := s.locks.lock(ctx, lockContainer, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	stop := func() error { return s.eng.StopContainer(ctx, id, time.Duration(req.Timeout)*time.Second) }
	if req.Timeout == 0 {
		stop = func() error { return s.killNow(ctx, id) }
	}
	if err := stop(); err != nil && !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("stop container %s: %w", id, err)
	}
	if s.cfg.Logs != nil {
		if err := s.cfg.Logs.Drain(ctx, id); err != nil {
			s.log(ctx).Warn("draining the container log failed", "container", id, "err", err)
		}
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

// killNow stops a container with no grace period: SIGKILL at once. Docker's
// stop with a zero timeout sends the stop signal first and waits on it
// before it kills; its kill answers once the container has exited. A
// container that is not running (created, or exited meanwhile: a
// conflict for kill) is left to Docker's stop, which is a no-op for it.
func (s *Service) killNow(ctx context.Context, id string) error {
	err := s.eng.KillContainer(ctx, id, "KILL")
	if errdefs.IsConflict(err) {
		return s.eng.StopContainer(ctx, id, 0)
	}
	return err
}
