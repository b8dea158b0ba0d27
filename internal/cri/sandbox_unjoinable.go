package cri

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// unjoinableStopTimeout bounds stopping a sandbox Docker can no longer
// join; it runs even when the caller's context has ended.
const unjoinableStopTimeout = 30 * time.Second

// sandboxUnjoinable answers Docker's refusal to put a container into its
// sandbox's namespaces (engine.ErrCannotJoin): after a dockerd restart,
// with live-restore, Docker can hold a sandbox whose IPC namespace it no
// longer shares, or one it has stopped while a stale view still reads it
// as running. The kubelet would keep creating containers in a sandbox that
// reads READY, so the sandbox is stopped: it reads NOTREADY and the
// kubelet makes a new one. A refusal about another peer (a PID target) is
// not the sandbox's fault and leaves it alone. The caller gets
// FailedPrecondition either way.
func (s *Service) sandboxUnjoinable(ctx context.Context, sandboxID, ctrID string, err error) error {
	peer := engine.JoinPeer(err)
	if sandboxID == "" || peer != "" && !s.isSandbox(ctx, peer, sandboxID) {
		return fmt.Errorf("container %s: %w: %w", ctrID, errdefs.ErrFailedPrecondition, err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unjoinableStopTimeout)
	defer cancel()
	if serr := s.eng.StopContainer(sctx, sandboxID, sandboxStopTimeout); serr != nil && !errdefs.IsNotFound(serr) {
		s.log(ctx).Warn("stopping a sandbox Docker can no longer join failed", "sandbox", sandboxID, "container", ctrID, "err", serr)
		return fmt.Errorf("container %s: pod sandbox %s can no longer be joined (stopping it failed: %v): %w: %w",
			ctrID, sandboxID, serr, errdefs.ErrFailedPrecondition, err)
	}
	s.log(ctx).Warn("Docker can no longer join this sandbox; stopped it so that the kubelet replaces it",
		"sandbox", sandboxID, "container", ctrID, "err", err)
	return fmt.Errorf("container %s: pod sandbox %s can no longer be joined and was stopped: %w: %w",
		ctrID, sandboxID, errdefs.ErrFailedPrecondition, err)
}

// isSandbox reports whether peer, an id, id prefix or container name from
// Docker's refusal (Docker 29 names a network peer by its name), is the
// sandbox.
func (s *Service) isSandbox(ctx context.Context, peer, sandboxID string) bool {
	if strings.HasPrefix(sandboxID, peer) {
		return true
	}
	in, err := s.eng.InspectContainer(ctx, peer)
	return err == nil && in.ID == sandboxID
}
