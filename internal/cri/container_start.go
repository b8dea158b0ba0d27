package cri

import (
	"context"
	"errors"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// StartContainer starts a created container and its log copier.
func (s *Service) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	c, err := s.resolveContainer(ctx, req.ContainerId)
	if err != nil {
		return nil, err
	}
	// Sandbox (shared) before container: a start never interleaves with
	// the pod's stop or removal, nor with another call on this container.
	unlockSandbox, err := s.locks.rlock(ctx, lockSandbox, c.Config.Labels[naming.LabelSandboxID])
	if err != nil {
		return nil, err
	}
	defer unlockSandbox()
	unlock, err := s.locks.lock(ctx, lockContainer, c.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	logPath := c.Config.Labels[naming.LabelLogPath]
	if err := s.eng.StartContainer(ctx, c.ID); err != nil {
		if errors.Is(err, engine.ErrCannotJoin) {
			return nil, s.sandboxUnjoinable(ctx, c.Config.Labels[naming.LabelSandboxID], c.ID, err)
		}
		return nil, err
	}
	// The copier makes the log's directories, inside the pod's log
	// directory only.
	// An adopted container's log path is cri-dockerd's link to Docker's
	// own log file, which goes on being written: a copier would write
	// through the link into it.
	if logPath != "" && s.cfg.Logs != nil && !adopted(c.Config.Labels) {
		if err := s.cfg.Logs.StartIn(context.WithoutCancel(ctx), c.ID, c.Config.Labels[naming.LabelLogDir], logPath); err != nil {
			// The container runs; its log can be resumed later (Start is
			// idempotent and resumes), so this is not a start failure.
			s.log(ctx).Warn("starting the log copier failed", "container", c.ID, "err", err)
		}
	}
	return &runtimeapi.StartContainerResponse{}, nil
}
