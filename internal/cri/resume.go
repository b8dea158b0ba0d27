package cri

import (
	"context"
	"os"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// Resume picks up after a restart: the log copiers of running containers
// start again (they resume after the last record written), and so do those
// of containers that exited while dockerlet was down, which catch up with
// their final output and end. Everything else is read from labels and
// checkpoints on demand. (What a crash left half-done is Reconcile's,
// before serving.)
func (s *Service) Resume(ctx context.Context) {
	if s.cfg.Logs == nil {
		return
	}
	list, err := s.eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: s.managedFilter(naming.TypeContainer)})
	if err != nil {
		s.cfg.Logger.Warn("resume: listing containers failed", "err", err)
		return
	}
	running, exited := 0, 0
	for _, c := range list {
		path := c.Labels[naming.LabelLogPath]
		if path == "" || !s.mine(c.Labels, naming.TypeContainer) {
			continue // another server's: two copiers would write one file twice
		}
		if adopted(c.Labels) {
			continue // its log is its runtime's link to Docker's log file
		}
		switch {
		case c.State == container.StateRunning:
			running++
		case c.State == container.StateExited && s.exitedSinceLogWrite(ctx, c.ID, path):
			exited++
		default:
			continue
		}
		if err := s.cfg.Logs.StartIn(ctx, c.ID, c.Labels[naming.LabelLogDir], path); err != nil {
			s.cfg.Logger.Warn("resume: log copier failed", "container", c.ID, "err", err)
		}
	}
	s.cfg.Logger.Info("resumed log copiers", "running", running, "exited_while_down", exited)
}

// exitedSinceLogWrite reports whether an exited container finished after
// its CRI log was last written: its copier may have missed the tail. A
// container whose copier drained before the restart is skipped (the file
// was written at or after the exit), and so is one whose log file is gone
// (the kubelet removed it; a copier would resurrect it).
func (s *Service) exitedSinceLogWrite(ctx context.Context, id, path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	c, err := s.eng.InspectContainer(ctx, id)
	if err != nil || c.State == nil {
		return false
	}
	finished := parseDockerTime(c.State.FinishedAt)
	return finished != 0 && time.Unix(0, finished).After(fi.ModTime())
}
