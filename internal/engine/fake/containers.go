package fake

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// ctr is one fake container.
type ctr struct {
	id, name   string // name without the leading "/"
	created    time.Time
	spec       engine.CreateSpec
	imageID    string
	state      container.State
	pid        int
	logs       []logLine
	changed    chan struct{} // closed and replaced on every state or log change
	exited     chan struct{} // closed when the running process ends
	execIDs    []string
	ip         netip.Addr // bridge address while running
	restartCnt int
	failStart  string // the next start fails with this (FailNextStart)
}

// zeroTime is how Docker reports "never".
const zeroTime = "0001-01-01T00:00:00Z"

// validName is Docker's container name rule.
var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

func (c *ctr) setState(s container.ContainerState) {
	c.state.Status = s
	c.state.Running = s == container.StateRunning
	c.notify()
}

// notify wakes everyone waiting on c.changed.
func (c *ctr) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// lookupLocked resolves a container reference as Docker does: full ID,
// then exact name (with or without "/"), then unique ID prefix.
func (f *Fake) lookupLocked(ref string) (*ctr, error) {
	if ref == "" {
		return nil, notFound("no such container: \"\"")
	}
	if c, ok := f.containers[ref]; ok {
		return c, nil
	}
	name := strings.TrimPrefix(ref, "/")
	for _, c := range f.containers {
		if c.name == name {
			return c, nil
		}
	}
	var found *ctr
	for id, c := range f.containers {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, invalid("multiple IDs found with provided prefix: %s", ref)
			}
			found = c
		}
	}
	if found == nil {
		return nil, notFound("no such container: %s", ref)
	}
	return found, nil
}

// CreateContainer implements engine.Engine.
func (f *Fake) CreateContainer(ctx context.Context, spec engine.CreateSpec) (string, error) {
	if err := f.enter(ctx, "CreateContainer"); err != nil {
		return "", err
	}
	if spec.Config == nil || spec.Config.Image == "" {
		return "", invalid("create container: config with an image is required")
	}
	if spec.Name != "" && !validName.MatchString(spec.Name) {
		return "", invalid("invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", spec.Name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.imageLocked(spec.Config.Image)
	if err != nil {
		return "", notFound("no such image: %s", spec.Config.Image)
	}
	name := strings.TrimPrefix(spec.Name, "/")
	if name == "" {
		name = fmt.Sprintf("fake_%d", f.seq+1)
	}
	for _, c := range f.containers {
		if c.name == name {
			return "", conflict("the container name %q is already in use by container %q", "/"+name, c.id)
		}
	}
	c := &ctr{
		id:      f.newID("container"),
		name:    name,
		created: f.Now().UTC(),
		spec:    clone(spec),
		imageID: img.ID,
		changed: make(chan struct{}),
		exited:  make(chan struct{}),
		state: container.State{
			Status:     container.StateCreated,
			StartedAt:  zeroTime,
			FinishedAt: zeroTime,
		},
	}
	if c.spec.HostConfig == nil {
		c.spec.HostConfig = &container.HostConfig{}
	}
	f.containers[c.id] = c
	f.emitLocked(c, "create", nil)
	return c.id, nil
}

// withContainer records op, resolves id and runs fn on that container with
// the fake's lock held: the shape of every per-container operation.
func (f *Fake) withContainer(ctx context.Context, op, id string, fn func(c *ctr) error) error {
	if err := f.enter(ctx, op); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(id)
	if err != nil {
		return err
	}
	return fn(c)
}

// StartContainer implements engine.Engine. Starting a running container
// is a no-op, as Docker's 304 is.
func (f *Fake) StartContainer(ctx context.Context, id string) error {
	return f.withContainer(ctx, "StartContainer", id, func(c *ctr) error {
		if c.state.Running {
			return nil
		}
		if err := f.checkPeersLocked(c); err != nil {
			return err
		}
		if msg := c.failStart; msg != "" {
			// Docker records the failure and keeps the container's
			// state; no event tells of it.
			c.failStart = ""
			c.state.Error = msg
			c.state.ExitCode = 128
			c.notify()
			return fmt.Errorf("start container %s: %w: %s", c.id, errdefs.ErrInvalidArgument, msg)
		}
		if c.state.Status == container.StateExited {
			c.restartCnt++
		}
		f.seq++
		c.pid = 1000 + f.seq
		c.state.Pid = c.pid
		n := f.seq%65000 + 2
		c.ip = netip.AddrFrom4([4]byte{172, 17, byte(n >> 8), byte(n)})
		c.state.ExitCode = 0
		c.state.OOMKilled = false
		c.state.Error = ""
		c.state.StartedAt = f.Now().UTC().Format(time.RFC3339Nano)
		c.state.FinishedAt = zeroTime
		c.exited = make(chan struct{})
		c.setState(container.StateRunning)
		f.emitLocked(c, "start", nil)
		return nil
	})
}

// FailNextStart makes the next start of container id fail as Docker's
// does when the runtime cannot start its process (a missing command, say).
func (f *Fake) FailNextStart(id, msg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(id)
	if err != nil {
		return err
	}
	c.failStart = msg
	return nil
}

// exitLocked moves a running container to exited.
func (f *Fake) exitLocked(c *ctr, code int, oom bool) {
	if oom {
		c.state.OOMKilled = true
		f.emitLocked(c, "oom", nil)
	}
	c.state.Pid = 0
	c.state.ExitCode = code
	c.state.FinishedAt = f.Now().UTC().Format(time.RFC3339Nano)
	close(c.exited)
	c.setState(container.StateExited)
	f.emitLocked(c, "die", map[string]string{"exitCode": fmt.Sprint(code)})
}

// StopContainer implements engine.Engine. The container exits at once
// with the stop exit code (SetStopExitCode); stopping a stopped container
// is a no-op, as in Docker.
func (f *Fake) StopContainer(ctx context.Context, id string, _ time.Duration) error {
	return f.withContainer(ctx, "StopContainer", id, func(c *ctr) error {
		if c.state.Running {
			f.exitLocked(c, f.stopExitCode, false)
		}
		return nil
	})
}

// KillContainer implements engine.Engine: the container exits with
// 128+signal. Killing a container that is not running is a conflict.
func (f *Fake) KillContainer(ctx context.Context, id, signal string) error {
	if err := f.enter(ctx, "KillContainer"); err != nil {
		return err
	}
	sig, err := parseSignal(signal)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(id)
	if err != nil {
		return err
	}
	if !c.state.Running {
		return conflict("container %s is not running", c.id)
	}
	f.exitLocked(c, 128+int(sig), false)
	return nil
}

func parseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return syscall.SIGKILL, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
		if n <= 0 || n > 64 {
			return 0, invalid("invalid signal: %s", s)
		}
		return syscall.Signal(n), nil
	}
	names := map[string]syscall.Signal{
		"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT,
		"HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1,
		"USR2": syscall.SIGUSR2, "STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT,
	}
	if sig, ok := names[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return sig, nil
	}
	return 0, invalid("invalid signal: %s", s)
}

// RemoveContainer implements engine.Engine.
func (f *Fake) RemoveContainer(ctx context.Context, id string, opts engine.RemoveOptions) error {
	return f.withContainer(ctx, "RemoveContainer", id, func(c *ctr) error {
		if c.state.Running {
			if !opts.Force {
				return conflict("you cannot remove a running container %s; stop the container before attempting removal or force remove", c.id)
			}
			f.exitLocked(c, 137, false)
		}
		for _, e := range c.execIDs {
			delete(f.execs, e)
		}
		delete(f.containers, c.id)
		c.setState(container.StateRemoving)
		f.emitLocked(c, "destroy", nil)
		return nil
	})
}

// UpdateContainerResources implements engine.Engine.
func (f *Fake) UpdateContainerResources(ctx context.Context, id string, res container.Resources) error {
	return f.withContainer(ctx, "UpdateContainerResources", id, func(c *ctr) error {
		c.spec.HostConfig.Resources = clone(res)
		return nil
	})
}

// ExitContainer simulates the main process of a running container exiting
// with code (a test helper).
func (f *Fake) ExitContainer(id string, code int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(id)
	if err != nil {
		return err
	}
	if !c.state.Running {
		return conflict("container %s is not running", c.id)
	}
	f.exitLocked(c, code, false)
	return nil
}

// OOMKill simulates the kernel OOM killer ending a running container.
func (f *Fake) OOMKill(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(id)
	if err != nil {
		return err
	}
	if !c.state.Running {
		return conflict("container %s is not running", c.id)
	}
	f.exitLocked(c, 137, true)
	return nil
}

// ContainerIDs returns the IDs of all containers, sorted (a test helper).
func (f *Fake) ContainerIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.containers))
	for id := range f.containers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// checkPeersLocked refuses a start whose network, IPC or PID namespace is
// another container's that is not running, with Docker's messages (network
// first, as Docker sets it up first).
func (f *Fake) checkPeersLocked(c *ctr) error {
	hc := c.spec.HostConfig
	modes := []struct{ mode, msg string }{
		{string(hc.NetworkMode), "cannot join network of a non running container: %s"},
		{string(hc.IpcMode), "can't join IPC of container %s: Container %[1]s is not running"},
		{string(hc.PidMode), "cannot join PID of a non running container: %s"},
	}
	for _, m := range modes {
		ref, ok := strings.CutPrefix(m.mode, "container:")
		if !ok {
			continue
		}
		peer, err := f.lookupLocked(ref)
		if err != nil {
			return err
		}
		if !peer.state.Running {
			return fmt.Errorf("%s: %w", fmt.Sprintf(m.msg, peer.id), engine.ErrCannotJoin)
		}
	}
	return nil
}
