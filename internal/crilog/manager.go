package crilog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

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
	if containerID == "" || path == "" {
		return fmt.Errorf("crilog start: container id and log path are required: %w", engine.ErrInvalidArgument)
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
		return m.Start(ctx, containerID, path)
	}
	c := &copier{
		id: containerID, path: path, eng: m.eng,
		log:   m.log,
		ready: make(chan struct{}),
		done:  make(chan struct{}),
		w:     &logWriter{},
	}
	m.copiers[containerID] = c
	m.mu.Unlock()

	err := m.start(ctx, c)
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
	if err := replaceSymlink(c.path); err != nil {
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
	f, err := openLog(c.path)
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
// while rotating. engine.ErrNotFound when no copier runs.
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
		return fmt.Errorf("no log copier runs for container %s: %w", containerID, engine.ErrNotFound)
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

// replaceSymlink removes a symlink at path. Runtimes that pointed the CRI
// log path at Docker's own JSON log (cri-dockerd, dockershim) leave one
// behind; writing through it would append CRI records to Docker's file.
func replaceSymlink(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return nil
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove log symlink %s: %w", path, err)
	}
	return nil
}
