package cache

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func TestEventDrivenUpdates(t *testing.T) {
	e := newEnv(t, Options{})
	if !e.cache.Synced() {
		t.Fatal("not synced after New")
	}
	// Changes made behind the cache's back reach it through events.
	id := e.create(e.fake, "k8s_a_p_ns_uid_0", managedLabels())
	eventually(t, "created container cached", func() bool { return slices.Contains(ids(t, e.cache, all), id) })
	must(t, e.fake.StartContainer(e.ctx, id))
	eventually(t, "running", func() bool { return states(t, e.cache)[id] == container.StateRunning })
	must(t, e.fake.ExitContainer(id, 3))
	eventually(t, "exited", func() bool { return states(t, e.cache)[id] == container.StateExited })
	e.served(func() {
		in, err := e.cache.InspectContainer(e.ctx, id)
		must(t, err)
		if in.State.ExitCode != 3 {
			t.Fatalf("exit code %d, want 3", in.State.ExitCode)
		}
	})
	must(t, e.fake.RemoveContainer(e.ctx, id, engine.RemoveOptions{}))
	eventually(t, "removed", func() bool { return len(ids(t, e.cache, all)) == 0 })
	e.served(func() {
		if _, err := e.cache.InspectContainer(e.ctx, id); !errdefs.IsNotFound(err) {
			t.Fatalf("inspect removed: %v, want ErrNotFound", err)
		}
	})
}

func TestInitialResyncSeesExisting(t *testing.T) {
	e := newEnv(t, Options{})
	_ = e.cache.Close()
	// A new cache over an engine that already has containers.
	a := e.create(e.fake, "k8s_a_p_ns_uid_0", managedLabels())
	must(t, e.fake.StartContainer(e.ctx, a))
	b := e.create(e.fake, "k8s_b_p_ns_uid_0", managedLabels())
	e.create(e.fake, "user-container", map[string]string{"app": "mine"})
	c, err := New(e.ctx, e.wrap, Options{})
	must(t, err)
	defer c.Close()
	e.cache = c
	e.served(func() {
		if got, want := ids(t, c, all), sorted(a, b); !slices.Equal(got, want) {
			t.Fatalf("cached %v, want %v", got, want)
		}
	})
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func TestResyncAfterStreamBreaks(t *testing.T) {
	e := newEnv(t, Options{})
	keep := e.create(e.fake, "k8s_keep_p_ns_uid_0", managedLabels())
	gone := e.create(e.fake, "k8s_gone_p_ns_uid_0", managedLabels())
	eventually(t, "initial", e.exact)
	opened := e.wrap.Opened()

	// Events are lost while containers change.
	e.wrap.Drop(true)
	must(t, e.fake.StartContainer(e.ctx, keep))
	must(t, e.fake.RemoveContainer(e.ctx, gone, engine.RemoveOptions{}))
	added := e.create(e.fake, "k8s_added_p_ns_uid_0", managedLabels())
	if e.exact() {
		t.Fatal("cache exact although its events were dropped: the test proves nothing")
	}
	e.wrap.Drop(false)
	e.wrap.Break(errBroken)

	// The stream failure makes the next List exact: from the engine until the
	// resync is done, then from memory.
	eventually(t, "reconnect", func() bool { return e.wrap.Opened() > opened })
	if !e.exact() {
		t.Fatal("List after stream failure is not exact")
	}
	eventually(t, "resynced", e.cache.Synced)
	want := fmt.Sprint(states(t, e.fake))
	e.served(func() {
		if got := fmt.Sprint(states(t, e.cache)); got != want {
			t.Fatalf("cache after resync: %v, engine %v", got, want)
		}
		if got, want := ids(t, e.cache, all), sorted(keep, added); !slices.Equal(got, want) {
			t.Fatalf("cached %v, want %v", got, want)
		}
	})
	if e.rec.count("reconnect") == 0 {
		t.Fatal("no reconnect resync recorded")
	}
	e.rec.mu.Lock()
	reconnects := e.rec.reconnects
	e.rec.mu.Unlock()
	if reconnects == 0 {
		t.Fatal("no reconnect recorded")
	}
}

func TestPeriodicResyncRepairsSilentLoss(t *testing.T) {
	e := newEnv(t, Options{ResyncPeriod: 20 * time.Millisecond})
	e.wrap.Drop(true)
	id := e.create(e.fake, "k8s_a_p_ns_uid_0", managedLabels())
	eventually(t, "periodic resync finds the container", func() bool {
		return slices.Contains(ids(t, e.cache, all), id)
	})
	if e.rec.count("periodic") == 0 {
		t.Fatal("no periodic resync recorded")
	}
}

func TestStartsUnsyncedWhenEngineFails(t *testing.T) {
	e := newEnv(t, Options{})
	_ = e.cache.Close()
	e.fake.InjectPersistentError("ListContainers", fmt.Errorf("daemon down: %w", errdefs.ErrUnavailable))
	c, err := New(e.ctx, e.wrap, Options{})
	must(t, err)
	defer c.Close()
	if c.Synced() {
		t.Fatal("synced although the resync failed")
	}
	// Reads go to the engine (and so fail like it) rather than answer empty.
	if _, err := c.ListContainers(e.ctx, all); !errdefs.IsUnavailable(err) {
		t.Fatalf("list while unsynced: %v, want the engine's error", err)
	}
	id := e.create(e.fake, "k8s_a_p_ns_uid_0", managedLabels())
	e.fake.ClearError("ListContainers")
	eventually(t, "synced after the engine recovers", c.Synced)
	if got := ids(t, c, all); !slices.Equal(got, []string{id}) {
		t.Fatalf("cached %v, want [%s]", got, id)
	}
}

func TestLabelLossForgets(t *testing.T) {
	e := newEnv(t, Options{LabelFilter: "tier=web"})
	id := e.create(e.cache, "web1", map[string]string{"tier": "web"})
	other := e.create(e.cache, "db1", map[string]string{"tier": "db"})
	opts := engine.ListOptions{All: true, Labels: []string{"tier=web"}}
	if got := ids(t, e.cache, opts); !slices.Equal(got, []string{id}) {
		t.Fatalf("cached %v, want [%s]", got, id)
	}
	// The unmanaged container is not cached: inspect goes to the engine.
	n := e.fake.CallCount("InspectContainer")
	if _, err := e.cache.InspectContainer(e.ctx, other); err != nil {
		t.Fatal(err)
	}
	if e.fake.CallCount("InspectContainer") == n {
		t.Fatal("unmanaged container answered from the cache")
	}
}

func TestConcurrentCallsStayExact(t *testing.T) {
	e := newEnv(t, Options{ResyncPeriod: 15 * time.Millisecond})
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for ctx.Err() == nil {
				list, err := e.cache.ListContainers(ctx, all)
				if err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
				for _, s := range list {
					s.Labels["scribble"] = "x" // callers may mutate results
					if in, err := e.cache.InspectContainer(ctx, s.ID); err == nil {
						in.State.Running = !in.State.Running
						in.Config.Labels["scribble"] = "y"
					}
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 15 {
				id, err := e.cache.CreateContainer(ctx, engine.CreateSpec{
					Name:   fmt.Sprintf("k8s_c%d-%d_p_ns_uid_0", w, i),
					Config: &container.Config{Image: "busybox", Labels: managedLabels()},
				})
				if err != nil {
					t.Error(err)
					return
				}
				// Read-your-writes holds under concurrency.
				if st := states(t, e.cache)[id]; st != container.StateCreated {
					t.Errorf("after create: %q", st)
				}
				must(t, e.cache.StartContainer(ctx, id))
				if st := states(t, e.cache)[id]; st != container.StateRunning {
					t.Errorf("after start: %q", st)
				}
				if i%3 == 0 {
					must(t, e.fake.ExitContainer(id, 1)) // behind the cache's back
				}
				if i%2 == 0 {
					must(t, e.cache.RemoveContainer(ctx, id, engine.RemoveOptions{Force: true}))
					if _, ok := states(t, e.cache)[id]; ok {
						t.Errorf("removed %s still listed", id)
					}
				}
				if i == 7 && w == 0 {
					e.wrap.Break(errBroken)
				}
			}
		}()
	}
	writers.Wait()
	cancel()
	readers.Wait()
	eventually(t, "cache converges", func() bool { return e.cache.Synced() && e.exact() })
	for _, s := range mustList(t, e.cache) {
		if _, ok := s.Labels["scribble"]; ok {
			t.Fatal("a caller's mutation reached the cache")
		}
	}
}

func mustList(t *testing.T, c *Cache) []container.Summary {
	t.Helper()
	list, err := c.ListContainers(context.Background(), all)
	must(t, err)
	return list
}

func TestNewRejectsBadOptions(t *testing.T) {
	e := newEnv(t, Options{})
	for _, o := range []Options{{ResyncPeriod: -time.Second}, {LabelFilter: "=x"}} {
		if _, err := New(e.ctx, e.wrap, o); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%+v: %v, want ErrInvalidArgument", o, err)
		}
	}
	if _, err := New(e.ctx, nil, Options{}); err == nil {
		t.Error("nil engine accepted")
	}
}
