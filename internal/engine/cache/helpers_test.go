package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// flaky wraps an engine so that tests control its event streams: hold
// events back, drop them, or break the stream with an error.
type flaky struct {
	engine.Engine

	mu      sync.Mutex
	hold    bool
	drop    bool
	release chan struct{} // closed and replaced when hold ends
	kills   []chan error
	opened  int
}

func newFlaky(e engine.Engine) *flaky { return &flaky{Engine: e, release: make(chan struct{})} }

func (w *flaky) Events(ctx context.Context, opts engine.EventsOptions) (<-chan engine.Event, <-chan error) {
	ctx, cancel := context.WithCancel(ctx)
	in, inErr := w.Engine.Events(ctx, opts)
	out := make(chan engine.Event)
	errc := make(chan error, 1)
	kill := make(chan error, 1)
	w.mu.Lock()
	w.kills = append(w.kills, kill)
	w.opened++
	w.mu.Unlock()
	go func() {
		defer cancel()
		var held []engine.Event
		for {
			w.mu.Lock()
			hold, release := w.hold, w.release
			w.mu.Unlock()
			if !hold && len(held) > 0 {
				select {
				case out <- held[0]:
					held = held[1:]
					continue
				case err := <-kill:
					errc <- err
					return
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			}
			select {
			case ev := <-in:
				w.mu.Lock()
				drop := w.drop
				w.mu.Unlock()
				if drop {
					continue
				}
				held = append(held, ev)
			case <-release:
			case err := <-inErr:
				errc <- err
				return
			case err := <-kill:
				errc <- err
				return
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
	}()
	return out, errc
}

// Hold buffers events until Release.
func (w *flaky) Hold() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hold = true
}

func (w *flaky) Release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hold = false
	close(w.release)
	w.release = make(chan struct{})
}

// Drop discards events (silent loss) until Undrop.
func (w *flaky) Drop(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drop = on
}

// Break ends every open stream with err.
func (w *flaky) Break(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range w.kills {
		select {
		case k <- err:
		default:
		}
	}
	w.kills = nil
}

func (w *flaky) Opened() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.opened
}

// recorder is a Metrics that counts.
type recorder struct {
	mu         sync.Mutex
	resyncs    map[string]int
	failed     int
	reconnects int
	// at, when set, is read as each periodic resync ends, into marks.
	at    func() int
	marks []int
}

func (r *recorder) CacheResync(reason string, _ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.resyncs == nil {
		r.resyncs = map[string]int{}
	}
	r.resyncs[reason]++
	if err != nil {
		r.failed++
	}
	if r.at != nil && reason == "periodic" {
		r.marks = append(r.marks, r.at())
	}
}

// marking reads at as each periodic resync ends from now on.
func (r *recorder) marking(at func() int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at, r.marks = at, nil
}

// marked returns what at read so far.
func (r *recorder) marked() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.marks)
}

func (r *recorder) EventStreamReconnect() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reconnects++
}

func (r *recorder) count(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resyncs[reason]
}

type env struct {
	t     *testing.T
	fake  *fake.Fake
	wrap  *flaky
	cache *Cache
	rec   *recorder
	ctx   context.Context
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	w := newFlaky(f)
	rec := &recorder{}
	if opts.Metrics == nil {
		opts.Metrics = rec
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := New(context.Background(), w, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &env{t: t, fake: f, wrap: w, cache: c, rec: rec, ctx: context.Background()}
}

// managedLabels marks a container as dockerlet's.
func managedLabels(extra ...string) map[string]string {
	l := map[string]string{naming.LabelManaged: "true", naming.LabelType: naming.TypeContainer}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// create makes a container through eng (the cache or the fake itself).
func (e *env) create(eng engine.Engine, name string, labels map[string]string) string {
	e.t.Helper()
	id, err := eng.CreateContainer(e.ctx, engine.CreateSpec{
		Name:   name,
		Config: &container.Config{Image: "busybox", Cmd: []string{"sleep", "1d"}, Labels: labels},
	})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	return id
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond; it fails the test if cond never holds. The limit
// is a hang guard, not a speed assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var all = engine.ListOptions{All: true, Labels: []string{naming.ManagedLabelFilter}}

// ids lists the cache (or the fake) and returns the sorted ids.
func ids(t *testing.T, eng engine.Engine, opts engine.ListOptions) []string {
	t.Helper()
	list, err := eng.ListContainers(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

// states maps id → state for a listing.
func states(t *testing.T, eng engine.Engine) map[string]container.ContainerState {
	t.Helper()
	list, err := eng.ListContainers(context.Background(), all)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]container.ContainerState{}
	for _, s := range list {
		m[s.ID] = s.State
	}
	return m
}

// exact reports whether the cache lists what the engine lists.
func (e *env) exact() bool {
	return fmt.Sprint(states(e.t, e.cache)) == fmt.Sprint(states(e.t, e.fake))
}

// served asserts that fn is answered without List/Inspect calls reaching
// the engine.
func (e *env) served(fn func()) {
	e.t.Helper()
	// Quiesce background work: hold new events and let queued ones finish.
	e.wrap.Hold()
	defer e.wrap.Release()
	for stable, last := 0, -1; stable < 3; {
		n := e.fake.CallCount("InspectContainer") + e.fake.CallCount("ListContainers")
		if n == last {
			stable++
		} else {
			stable, last = 0, n
		}
		time.Sleep(20 * time.Millisecond)
	}
	l, i := e.fake.CallCount("ListContainers"), e.fake.CallCount("InspectContainer")
	fn()
	if dl, di := e.fake.CallCount("ListContainers")-l, e.fake.CallCount("InspectContainer")-i; dl != 0 || di != 0 {
		e.t.Fatalf("engine called: %d lists, %d inspects; want 0", dl, di)
	}
}

var errBroken = errors.New("stream broken by test")
