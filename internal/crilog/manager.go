package crilog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// logEngine is the part of the engine the copiers use.
type logEngine interface {
	InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error)
	ContainerLogs(ctx context.Context, id string, opts engine.LogsOptions) (io.ReadCloser, error)
}

// Manager runs one copier per container: Docker's own log (json-file or
// local driver, which stays the fallback) followed with timestamps and
// written to the CRI log path. Because the copier owns the file, the
// kubelet's rotation works (Reopen), and because Docker keeps its own log,
// a copier that restarts — after a stream break, a container restart or a
// dockerlet restart — catches up from the last record it wrote.
type Manager struct {
	eng logEngine
	log *slog.Logger

	mu      sync.Mutex
	copiers map[string]*copier
}

// NewManager returns a Manager that reads logs through eng.
func NewManager(eng engine.Engine, logger *slog.Logger) *Manager {
	return newManager(eng, logger)
}

func newManager(eng logEngine, logger *slog.Logger) *Manager {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{eng: eng, log: logger, copiers: make(map[string]*copier)}
}

// Start copies the container's stdout and stderr into path in the CRI log
// format. It is idempotent per container id while a copier runs; a copier
// that has finished is started again (resuming after the file's last record).
// Call it once the container runs: Docker ends a follow stream at once for a
// container that is not running.
func (m *Manager) Start(ctx context.Context, containerID, path string) error {
	return m.StartIn(ctx, containerID, "", path)
}

// StartIn is Start with the log file confined to root, the pod's log
// directory: path must lie inside it, and no symlink or ".." below root
// leads the copier's writes out of it (see logFile). An empty root is the
// file's own directory.
func (m *Manager) StartIn(ctx context.Context, containerID, root, path string) error {
	if containerID == "" || path == "" {
		return fmt.Errorf("crilog start: container id and log path are required: %w", errdefs.ErrInvalidArgument)
	}
	file, err := newLogFile(root, path)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if c, ok := m.copiers[containerID]; ok {
		m.mu.Unlock()
		select {
		case <-c.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.startErr == nil && !c.finished() {
			return nil
		}
		m.forget(c)
		return m.StartIn(ctx, containerID, root, path)
	}
	c := &copier{
		id: containerID, path: path, file: file, eng: m.eng,
		log:   m.log,
		ready: make(chan struct{}),
		done:  make(chan struct{}),
		w:     &logWriter{},
	}
	m.copiers[containerID] = c
	m.mu.Unlock()

	err = m.start(ctx, c)
	if err != nil {
		c.startErr = err
		close(c.done)
		m.forget(c)
	}
	close(c.ready)
	return err
}

func (m *Manager) start(ctx context.Context, c *copier) error {
	insp, err := m.eng.InspectContainer(ctx, c.id)
	if err != nil {
		return fmt.Errorf("crilog start %s: %w", c.id, err)
	}
	c.tty = insp.Config != nil && insp.Config.Tty
	if err := c.file.replaceSymlink(); err != nil {
		return err
	}
	// The copier outlives the request that starts it.
	cctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	rc, err := c.openStream(cctx)
	if err != nil {
		cancel()
		return err
	}
	f, err := c.file.open()
	if err != nil {
		rc.Close()
		cancel()
		return err
	}
	c.f = f
	c.w.Reset(f)
	go c.run(cctx, rc)
	return nil
}

// forget drops c from the map unless a newer copier took its place.
func (m *Manager) forget(c *copier) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.copiers[c.id] == c {
		delete(m.copiers, c.id)
	}
}

func (m *Manager) get(id string) *copier {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.copiers[id]
}

// Drain blocks until the copier of a container that has exited has written
// everything Docker logged (or ctx ends). No-op when no copier exists.
func (m *Manager) Drain(ctx context.Context, containerID string) error {
	c := m.get(containerID)
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain log of %s: %w", containerID, ctx.Err())
	}
}

// Reopen closes and reopens the container's log file: the kubelet renamed it
// while rotating. errdefs.ErrNotFound when no copier runs.
func (m *Manager) Reopen(ctx context.Context, containerID string) error {
	c := m.get(containerID)
	if c != nil {
		select {
		case <-c.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if c == nil || c.startErr != nil || c.finished() {
		return fmt.Errorf("no log copier runs for container %s: %w", containerID, errdefs.ErrNotFound)
	}
	return c.reopen()
}

// Stop ends the container's copier (if any) after flushing what it has, and
// forgets it. Call it when the container is removed.
func (m *Manager) Stop(containerID string) {
	m.mu.Lock()
	c := m.copiers[containerID]
	delete(m.copiers, containerID)
	m.mu.Unlock()
	if c != nil {
		c.stop()
	}
}

// Close stops every copier.
func (m *Manager) Close() {
	m.mu.Lock()
	cs := m.copiers
	m.copiers = make(map[string]*copier)
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stop()
		}()
	}
	wg.Wait()
}

func (c *copier) stop() {
	<-c.ready
	if c.startErr != nil {
		return
	}
	c.cancel()
	c.closeStream()
	<-c.done
}
