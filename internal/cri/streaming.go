package cri

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// runningContainer resolves a container that must be running.
func (s *Service) runningContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	c, err := s.resolveContainer(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.State == nil || !c.State.Running {
		return nil, fmt.Errorf("container %s is not running: %w", c.ID, errdefs.ErrFailedPrecondition)
	}
	return c, nil
}

// ExecSync runs a command in a running container and returns its output.
func (s *Service) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	if s.cfg.ExecSync == nil {
		return nil, unimplementedf("ExecSync: no exec implementation is wired")
	}
	c, err := s.runningContainer(ctx, req.ContainerId)
	if err != nil {
		return nil, err
	}
	return s.cfg.ExecSync(ctx, s.eng, c.ID, req.Cmd, time.Duration(req.Timeout)*time.Second)
}

// Exec returns the streaming URL of an exec session.
func (s *Service) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if s.cfg.Streaming == nil {
		return nil, unimplementedf("Exec: no streaming server is wired")
	}
	c, err := s.runningContainer(ctx, req.ContainerId)
	if err != nil {
		return nil, err
	}
	r := proto.Clone(req).(*runtimeapi.ExecRequest)
	r.ContainerId = c.ID
	return s.cfg.Streaming.GetExec(r)
}

// Attach returns the streaming URL of an attach session.
func (s *Service) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if s.cfg.Streaming == nil {
		return nil, unimplementedf("Attach: no streaming server is wired")
	}
	c, err := s.runningContainer(ctx, req.ContainerId)
	if err != nil {
		return nil, err
	}
	r := proto.Clone(req).(*runtimeapi.AttachRequest)
	r.ContainerId = c.ID
	return s.cfg.Streaming.GetAttach(r)
}

// PortForward returns the streaming URL of a port-forward session.
func (s *Service) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if s.cfg.Streaming == nil {
		return nil, unimplementedf("PortForward: no streaming server is wired")
	}
	sb, err := s.resolveSandbox(ctx, req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	if sb.State == nil || !sb.State.Running {
		return nil, fmt.Errorf("pod sandbox %s is not ready: %w", sb.ID, errdefs.ErrFailedPrecondition)
	}
	r := proto.Clone(req).(*runtimeapi.PortForwardRequest)
	r.PodSandboxId = sb.ID
	return s.cfg.Streaming.GetPortForward(r)
}

// ReopenContainerLog makes the log copier reopen the container's log file
// after the kubelet rotated it.
func (s *Service) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	if s.cfg.Logs == nil {
		return nil, unimplementedf("ReopenContainerLog: no log manager is wired")
	}
	c, err := s.runningContainer(ctx, req.ContainerId)
	if err != nil {
		return nil, err
	}
	if adopted(c.Config.Labels) {
		// As cri-dockerd answered: the file is Docker's json-file log,
		// which Docker alone writes and rotates.
		return nil, fmt.Errorf("container %s was adopted from %s: its log is Docker's json-file log, which is not reopened: %w",
			c.ID, c.Config.Labels[naming.LabelAdopted], errdefs.ErrFailedPrecondition)
	}
	if err := s.cfg.Logs.Reopen(ctx, c.ID); err != nil {
		return nil, fmt.Errorf("reopen log of %s: %w", c.ID, err)
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}
