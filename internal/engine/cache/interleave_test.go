package cache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// late makes the next inspect of one container answer as of its call but
// return only when released, whatever its context says: a daemon that is
// shutting down answers a call on an open connection after the stream has
// already ended and the cache has moved on.
type late struct {
	engine.Engine
	mu      sync.Mutex
	id      string
	entered chan struct{}
	release chan struct{}
}

func (l *late) arm(id string) (entered, release chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.id, l.entered, l.release = id, make(chan struct{}), make(chan struct{})
	return l.entered, l.release
}

func (l *late) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	l.mu.Lock()
	hit := id == l.id
	entered, release := l.entered, l.release
	if hit {
		l.id = "" // once
	}
	l.mu.Unlock()
	in, err := l.Engine.InspectContainer(ctx, id)
	if hit {
		close(entered)
		<-release
	}
	return in, err
}

func newLateEnv(t *testing.T, opts Options) (*env, *late) {
	t.Helper()
	e := newEnv(t, opts)
	// Rebuild the cache over a late wrapper around the flaky stream.
	_ = e.cache.Close()
	l := &late{Engine: e.wrap}
	opts.Metrics = e.rec
	c, err := New(context.Background(), l, withTestLogger(t, opts))
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	e.cache = c
	return e, l
}

func withTestLogger(t *testing.T, opts Options) Options {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return opts
}

// TestRefreshOfEndedStreamDoesNotSwallowNewEvent: an event-driven inspect
// of the old stream is still in flight (the dying daemon answers late)
// when the reconnect resync completes and a new event about the same
// container arrives. The new event must get its own inspect; before the
// fix it was folded into the old loop, which then quit because its stream
// had ended, and the cache kept a stale state (here: exited for a container
// that had started again)
// (until the next periodic resync).
func TestRefreshOfEndedStreamDoesNotSwallowNewEvent(t *testing.T) {
	// No settle resync: it would repair what this test must see repaired
	// by the event.
	e, l := newLateEnv(t, Options{ResyncPeriod: time.Hour, settleAfter: time.Hour})
	c := e.cache
	id := e.create(c, "k8s_dlcf_late_ns_uid_0", managedLabels())
	must(t, c.StartContainer(e.ctx, id))
	eventually(t, "synced", c.Synced)

	quiesce(t, e) // the start's own inspects are done

	entered, release := l.arm(id)
	must(t, e.fake.ExitContainer(id, 1)) // the die event's inspect hangs
	<-entered

	before := e.rec.count("reconnect")
	e.wrap.Break(errBroken)
	eventually(t, "reconnect resync", func() bool { return e.rec.count("reconnect") > before && c.Synced() })

	must(t, e.fake.StartContainer(e.ctx, id)) // new stream: start event
	time.Sleep(50 * time.Millisecond)         // let the event reach the refresher
	close(release)                            // the old stream's inspect returns

	eventually(t, "restart applied to the stored record", func() bool {
		st := stored(c, id)
		return st != nil && st.Running
	})
}

// stored is the cache's own record of id's state (nil if none), read
// without any pass-through to the engine.
func stored(c *Cache, id string) *container.State {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e := c.entries[id]
	if !e.live() {
		return nil
	}
	return e.inspect.State
}

// gatedList makes the next managed ListContainers wait until released.
type gatedList struct {
	engine.Engine
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedList) arm() (entered, release chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.entered, g.release = true, make(chan struct{}), make(chan struct{})
	return g.entered, g.release
}

func (g *gatedList) ListContainers(ctx context.Context, opts engine.ListOptions) ([]container.Summary, error) {
	g.mu.Lock()
	hit := g.armed
	g.armed = false
	entered, release := g.entered, g.release
	g.mu.Unlock()
	if hit {
		close(entered)
		<-release
	}
	return g.Engine.ListContainers(ctx, opts)
}

// TestStaleMarkDuringResyncGetsAnotherResync: the cache is marked stale
// while a resync runs (which began before the mark, so it cannot clear it).
// The request for another resync must not be dropped; before the fix the
// cache answered from the engine until the next periodic resync.
func TestStaleMarkDuringResyncGetsAnotherResync(t *testing.T) {
	e := newEnv(t, Options{ResyncPeriod: time.Hour})
	_ = e.cache.Close()
	g := &gatedList{Engine: e.wrap}
	c, err := New(context.Background(), g, withTestLogger(t, Options{ResyncPeriod: time.Hour, Metrics: e.rec}))
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	id := e.create(c, "k8s_dlcf_mark_ns_uid_0", managedLabels())
	must(t, c.StartContainer(e.ctx, id))
	eventually(t, "synced", c.Synced)

	staleSeq := func() uint64 {
		c.mu.RLock()
		defer c.mu.RUnlock()
		return c.staleSeq
	}
	entered, release := g.arm()
	c.markStale("test: first")
	<-entered // the requested resync is listing
	mark := staleSeq()
	c.markStale("test: during the resync")
	if staleSeq() <= mark {
		t.Fatal("stale mark not recorded")
	}
	close(release)
	eventually(t, "synced again", c.Synced)
}

// TestSettleResyncAfterReconnect: a daemon that has just restarted changes
// a container without an event the cache receives (here: events are lost
// after the reconnect resync). The full resync that follows each reconnect
// finds it, long before the next periodic one.
func TestSettleResyncAfterReconnect(t *testing.T) {
	opts := Options{ResyncPeriod: time.Hour, settleAfter: 300 * time.Millisecond}
	e := newEnv(t, opts)
	c := e.cache
	id := e.create(c, "k8s_dlcf_settle_ns_uid_0", managedLabels())
	must(t, c.StartContainer(e.ctx, id))
	eventually(t, "synced", c.Synced)
	quiesce(t, e)

	e.wrap.Drop(true)
	before := e.rec.count("reconnect")
	e.wrap.Break(errBroken)
	eventually(t, "reconnect resync", func() bool { return e.rec.count("reconnect") > before && c.Synced() })
	must(t, e.fake.ExitContainer(id, 4)) // its event is lost
	eventually(t, "exit found by the settle resync", func() bool {
		st := stored(c, id)
		return st != nil && !st.Running && st.ExitCode == 4
	})
	if e.rec.count("settle") == 0 {
		t.Fatal("no settle resync recorded")
	}
}

// TestRefusedJoinRefreshesPeer: the cache missed its sandbox's stop (lost
// event); Docker then refuses to start a container in that sandbox's
// namespaces. The cache re-inspects the peer Docker named, so the next
// read of the sandbox is not the stale RUNNING.
func TestRefusedJoinRefreshesPeer(t *testing.T) {
	e := newEnv(t, Options{ResyncPeriod: time.Hour})
	c := e.cache
	sb := e.create(c, "k8s_POD_dlcf_ns_uid_0", managedLabels())
	must(t, c.StartContainer(e.ctx, sb))
	id, err := c.CreateContainer(e.ctx, engine.CreateSpec{
		Name:       "k8s_app_dlcf_ns_uid_0",
		Config:     &container.Config{Image: "busybox", Labels: managedLabels()},
		HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode("container:" + sb)},
	})
	must(t, err)
	eventually(t, "synced", c.Synced)
	quiesce(t, e)

	e.wrap.Drop(true)
	must(t, e.fake.ExitContainer(sb, 0)) // the cache never hears of it
	time.Sleep(50 * time.Millisecond)
	if st := stored(c, sb); st == nil || !st.Running {
		t.Fatalf("setup: the cache should still hold the sandbox as running: %+v", st)
	}
	err = c.StartContainer(e.ctx, id)
	if !errors.Is(err, engine.ErrCannotJoin) {
		t.Fatalf("start: %v, want ErrCannotJoin", err)
	}
	if st := stored(c, sb); st == nil || st.Running {
		t.Fatalf("after the refusal the cache still holds the sandbox as %+v", st)
	}
}

// quiesce waits until the cache has applied every event so far: no
// refresh pending and no engine call for a while.
func quiesce(t *testing.T, e *env) {
	t.Helper()
	idle := func() bool {
		e.cache.events.mu.Lock()
		defer e.cache.events.mu.Unlock()
		return len(e.cache.events.pending) == 0
	}
	for stable, last := 0, -1; stable < 3; {
		n := e.fake.CallCount("InspectContainer") + e.fake.CallCount("ListContainers")
		if n == last && idle() {
			stable++
		} else {
			stable, last = 0, n
		}
		time.Sleep(20 * time.Millisecond)
	}
}
