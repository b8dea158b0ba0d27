package fake

import (
	"context"
	"io"
	"slices"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// AttachContainer implements engine.Engine. Without an attach hook it
// writes the configured logs to the streams and returns when the container
// has run and stopped, or ctx ends. Stdin is not read.
func (f *Fake) AttachContainer(ctx context.Context, id string, s engine.Streams) error {
	if err := f.enter(ctx, "AttachContainer"); err != nil {
		return err
	}
	f.mu.Lock()
	c, err := f.lookupLocked(id)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	hook := f.attachHook
	lines := slices.Clone(c.logs)
	f.mu.Unlock()
	if hook != nil {
		return hook(ctx, c.id, s)
	}
	for _, l := range lines {
		w := s.Stdout
		if l.stream == 2 && (s.Stderr != nil || !s.TTY) {
			w = s.Stderr
		}
		if w != nil {
			_, _ = io.WriteString(w, l.text)
		}
	}
	for {
		f.mu.Lock()
		status, changed := c.state.Status, c.changed
		f.mu.Unlock()
		if status == container.StateExited || status == container.StateRemoving {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ResizeContainerTTY implements engine.Engine. The container must be
// running, as in Docker.
func (f *Fake) ResizeContainerTTY(ctx context.Context, id string, height, width uint) error {
	return f.withContainer(ctx, "ResizeContainerTTY", id, func(c *ctr) error {
		if !c.state.Running {
			return conflict("container %s is not running", c.id)
		}
		f.sizes[c.id] = [2]uint{height, width}
		return nil
	})
}
