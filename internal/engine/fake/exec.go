package fake

import (
	"context"
	"fmt"
	"strings"

	"github.com/dockerlet/dockerlet/internal/engine"
)

type execState struct {
	id, containerID string
	cfg             engine.ExecConfig
	started         bool
	running         bool
	exitCode        int
	pid             int
}

// CreateExec implements engine.Engine. The container must be running.
func (f *Fake) CreateExec(ctx context.Context, containerID string, cfg engine.ExecConfig) (string, error) {
	if err := f.enter(ctx, "CreateExec"); err != nil {
		return "", err
	}
	if len(cfg.Cmd) == 0 {
		return "", invalid("create exec: no command specified")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(containerID)
	if err != nil {
		return "", err
	}
	if !c.state.Running {
		return "", conflict("container %s is not running", c.id)
	}
	e := &execState{id: f.newID("exec"), containerID: c.id, cfg: clone(cfg)}
	f.execs[e.id] = e
	c.execIDs = append(c.execIDs, e.id)
	f.emitLocked(c, "exec_create", map[string]string{"execID": e.id, engine.ActionDetail: strings.Join(cfg.Cmd, " ")})
	return e.id, nil
}

// StartExec implements engine.Engine: it runs the exec hook and returns
// when the hook returns. The hook's context ends when ctx ends or the
// container stops.
func (f *Fake) StartExec(ctx context.Context, execID string, s engine.Streams) error {
	if err := f.enter(ctx, "StartExec"); err != nil {
		return err
	}
	f.mu.Lock()
	e, ok := f.execs[execID]
	if !ok {
		f.mu.Unlock()
		return notFound("no such exec instance: %s", execID)
	}
	if e.started {
		f.mu.Unlock()
		return conflict("exec %s has already been started", execID)
	}
	c, ok := f.containers[e.containerID]
	if !ok || !c.state.Running {
		f.mu.Unlock()
		return conflict("container %s is not running", e.containerID)
	}
	f.seq++
	e.started, e.running, e.pid = true, true, 1000+f.seq
	hook, cfg, exited := f.execHook, e.cfg, c.exited
	f.emitLocked(c, "exec_start", map[string]string{"execID": e.id, engine.ActionDetail: strings.Join(cfg.Cmd, " ")})
	f.mu.Unlock()

	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-hctx.Done():
		}
	}()
	code := 0
	if hook != nil {
		code = hook(hctx, e.containerID, cfg, s)
	}

	f.mu.Lock()
	e.running, e.exitCode = false, code
	f.emitLocked(c, "exec_die", map[string]string{"execID": e.id, "exitCode": fmt.Sprint(code)})
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake exec %s: %w", execID, err)
	}
	return nil
}

// InspectExec implements engine.Engine.
func (f *Fake) InspectExec(ctx context.Context, execID string) (*engine.ExecInspect, error) {
	if err := f.enter(ctx, "InspectExec"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.execs[execID]
	if !ok {
		return nil, notFound("no such exec instance: %s", execID)
	}
	pid := 0
	if e.running {
		pid = e.pid
	}
	return &engine.ExecInspect{
		ID:          e.id,
		ContainerID: e.containerID,
		Running:     e.running,
		ExitCode:    e.exitCode,
		Pid:         pid,
	}, nil
}

// ResizeExecTTY implements engine.Engine.
func (f *Fake) ResizeExecTTY(ctx context.Context, execID string, height, width uint) error {
	if err := f.enter(ctx, "ResizeExecTTY"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.execs[execID]; !ok {
		return notFound("no such exec instance: %s", execID)
	}
	f.sizes[execID] = [2]uint{height, width}
	return nil
}

// LastTTYSize returns the last size set for a container or exec TTY.
func (f *Fake) LastTTYSize(id string) (height, width uint, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, err := f.lookupLocked(id); err == nil {
		id = c.id
	}
	s, ok := f.sizes[id]
	return s[0], s[1], ok
}
