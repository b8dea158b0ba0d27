package cri

import (
	"context"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// Resume picks up after a restart: the log copiers of running containers
// start again (they resume after the last record written). Everything else
// is read from labels and checkpoints on demand. (What a crash left
// half-done is Reconcile's, before serving.)
func (s *Service) Resume(ctx context.Context) {
	if s.cfg.Logs == nil {
		return
	}
	list, err := s.eng.ListContainers(ctx, engine.ListOptions{Labels: managedFilter(naming.TypeContainer)})
	if err != nil {
		s.cfg.Logger.Warn("resume: listing containers failed", "err", err)
		return
	}
	n := 0
	for _, c := range list {
		path := c.Labels[labelLogPath]
		if path == "" || c.State != container.StateRunning || !isManaged(c.Labels, naming.TypeContainer) {
			continue
		}
		if err := s.cfg.Logs.Start(ctx, c.ID, path); err != nil {
			s.cfg.Logger.Warn("resume: log copier failed", "container", c.ID, "err", err)
			continue
		}
		n++
	}
	s.cfg.Logger.Info("resumed log copiers", "containers", n)
}
