// Package fake is an in-memory engine.Engine for unit tests and demos
// (`--docker-endpoint fake://`). It mimics Docker's observable behaviour
// closely enough for CRI logic: container state transitions, unique names,
// prefix-id lookup, images with tags and digests, pulls, execs and events.
// It records every call and can inject an error or a delay per operation.
//
// All methods are safe for concurrent use. Records handed out are deep
// copies: mutating them never changes the fake's state.
package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// ExecFunc runs one exec process for StartExec: it writes to the streams
// and returns the exit code. It is called without the fake's lock held.
type ExecFunc func(ctx context.Context, containerID string, cfg engine.ExecConfig, s engine.Streams) int

// AttachFunc serves AttachContainer when set; it is called without the
// fake's lock held.
type AttachFunc func(ctx context.Context, containerID string, s engine.Streams) error

// Fake is the in-memory engine. The zero value is not usable; call New.
type Fake struct {
	// Now is the clock; tests may replace it before use.
	Now func() time.Time

	mu           sync.Mutex
	seq          int
	containers   map[string]*ctr // by full ID
	images       map[string]*image.InspectResponse
	history      map[string][]image.HistoryResponseItem
	pullable     []pullable
	pullAny      bool
	pullAuth     map[string]auth // normalised repository name → required credential
	execs        map[string]*execState
	execHook     ExecFunc
	sizes        map[string][2]uint // TTY id → height, width
	attachHook   AttachFunc
	calls        []string
	errs         map[string]*injected
	delays       map[string]time.Duration
	events       []engine.Event
	subs         map[*subscriber]struct{}
	version      engine.Version
	info         system.Info
	stopExitCode int
}

type injected struct {
	err        error
	persistent bool
}

type auth struct{ username, password string }

var _ engine.Engine = (*Fake)(nil)

// New returns an empty fake engine.
func New() *Fake {
	return &Fake{
		Now:        time.Now,
		containers: map[string]*ctr{},
		images:     map[string]*image.InspectResponse{},
		history:    map[string][]image.HistoryResponseItem{},
		pullAuth:   map[string]auth{},
		execs:      map[string]*execState{},
		sizes:      map[string][2]uint{},
		errs:       map[string]*injected{},
		delays:     map[string]time.Duration{},
		subs:       map[*subscriber]struct{}{},
		version: engine.Version{
			Version:       "fake",
			APIVersion:    "1.41",
			ServerAPI:     "1.41",
			MinAPIVersion: "1.12",
			Os:            "linux",
			Arch:          "amd64",
			KernelVersion: "fake",
		},
		info: system.Info{
			ID:              "fake",
			Name:            "fake",
			Driver:          "fake",
			CgroupDriver:    "cgroupfs",
			CgroupVersion:   "1",
			LoggingDriver:   "json-file",
			OperatingSystem: "fake",
			OSType:          "linux",
			Architecture:    "x86_64",
			DockerRootDir:   "/var/lib/docker",
		},
	}
}

// enter records a call to op and applies an injected error or delay.
// It must be called without f.mu held.
func (f *Fake) enter(ctx context.Context, op string) error {
	f.mu.Lock()
	f.calls = append(f.calls, op)
	var err error
	if inj, ok := f.errs[op]; ok {
		err = inj.err
		if !inj.persistent {
			delete(f.errs, op)
		}
	}
	delay := f.delays[op]
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("fake %s: %w", op, ctx.Err())
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake %s: %w", op, err)
	}
	return nil
}

// Calls returns the names of the engine methods called so far, in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// CallCount returns how often op was called.
func (f *Fake) CallCount(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

// ResetCalls forgets the recorded calls.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// InjectError makes the next call to op (a method name such as
// "StartContainer") fail with err. The call is still recorded.
func (f *Fake) InjectError(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[op] = &injected{err: err}
}

// InjectPersistentError makes every call to op fail with err until
// ClearError(op).
func (f *Fake) InjectPersistentError(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[op] = &injected{err: err, persistent: true}
}

// ClearError removes an injected error for op.
func (f *Fake) ClearError(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.errs, op)
}

// SetDelay makes every call to op wait d (or until its ctx ends, which
// fails the call with its error) before doing its work.
func (f *Fake) SetDelay(op string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delays[op] = d
}

// SetExecHook sets the function that runs exec processes. Without one, an
// exec writes nothing and exits 0.
func (f *Fake) SetExecHook(fn ExecFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execHook = fn
}

// SetAttachHook sets the function that serves AttachContainer. Without one,
// attach writes the container's configured logs and returns when the
// container is no longer running.
func (f *Fake) SetAttachHook(fn AttachFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attachHook = fn
}

// SetStopExitCode sets the exit code StopContainer records (default 0).
func (f *Fake) SetStopExitCode(code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopExitCode = code
}

// SetVersion replaces what Version returns.
func (f *Fake) SetVersion(v engine.Version) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version = v
}

// SetInfo replaces what Info returns.
func (f *Fake) SetInfo(i system.Info) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.info = i
}

// Version implements engine.Engine.
func (f *Fake) Version(ctx context.Context) (*engine.Version, error) {
	if err := f.enter(ctx, "Version"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.version
	return &v, nil
}

// Info implements engine.Engine.
func (f *Fake) Info(ctx context.Context) (*system.Info, error) {
	if err := f.enter(ctx, "Info"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := clone(f.info)
	i.Containers = len(f.containers)
	i.Images = len(f.images)
	i.ContainersRunning, i.ContainersPaused, i.ContainersStopped = 0, 0, 0
	for _, c := range f.containers {
		if c.state.Running {
			i.ContainersRunning++
		} else {
			i.ContainersStopped++
		}
	}
	return &i, nil
}

// newID returns a fresh 64-hex-digit identifier. Deterministic per fake so
// that test failures reproduce.
func (f *Fake) newID(kind string) string {
	f.seq++
	sum := sha256.Sum256(fmt.Appendf(nil, "%s-%d", kind, f.seq))
	return hex.EncodeToString(sum[:])
}

// clone deep-copies a record through JSON, the engine's own wire format, so
// the copy is exactly what a client would decode.
func clone[T any](v T) T {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fake: clone %T: %v", v, err)) // API types always marshal
	}
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("fake: clone %T: %v", v, err))
	}
	return out
}

func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), errdefs.ErrNotFound)
}

func conflict(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), errdefs.ErrConflict)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
}
