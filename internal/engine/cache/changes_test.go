package cache

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// next reads one change or fails.
func next(t *testing.T, ch <-chan Change) Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change")
	}
	return Change{}
}

func TestSubscribeLifecycle(t *testing.T) {
	e := newEnv(t, Options{})
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	ch := e.cache.Subscribe(ctx)

	id := e.create(e.cache, "k8s_a_p_ns_uid_0", managedLabels())
	must(t, e.cache.StartContainer(ctx, id))
	must(t, e.fake.ExitContainer(id, 2)) // seen through the event stream
	must(t, e.cache.StartContainer(ctx, id))
	must(t, e.cache.RemoveContainer(ctx, id, engine.RemoveOptions{Force: true}))

	var got []string
	for range 6 {
		c := next(t, ch)
		if c.ID != id || c.Container == nil || c.Container.ID != id {
			t.Fatalf("change %+v", c)
		}
		if running := c.Container.State.Running; c.Kind == ChangeStopped && running {
			t.Fatalf("%v change with running=%v", c.Kind, running)
		}
		got = append(got, c.Kind.String())
	}
	// The forced removal of a running container stops it first.
	want := "created started stopped started stopped deleted"
	if g := strings.Join(got, " "); g != want {
		t.Fatalf("changes %q, want %q", g, want)
	}
	select {
	case c := <-ch:
		t.Fatalf("extra change %v", c.Kind)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	eventually(t, "subscription closed", func() bool {
		_, ok := <-ch
		return !ok
	})
}

func TestSubscribeChangesFollowCache(t *testing.T) {
	e := newEnv(t, Options{})
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	ch := e.cache.Subscribe(ctx)
	id := e.create(e.fake, "k8s_a_p_ns_uid_0", managedLabels())
	c := next(t, ch)
	if c.Kind != ChangeCreated || c.ID != id {
		t.Fatalf("change %v %s", c.Kind, c.ID)
	}
	// When a change is received the cache already holds that state.
	e.served(func() {
		if _, ok := states(t, e.cache)[id]; !ok {
			t.Fatal("change emitted before the cache was updated")
		}
	})
}

func TestSlowSubscriberIsCut(t *testing.T) {
	e := newEnv(t, Options{})
	e.cache.mu.Lock()
	e.cache.subQueue = 20
	e.cache.mu.Unlock()
	ch := e.cache.Subscribe(e.ctx)
	// Never read: after 20 queued changes the channel closes.
	for i := range 30 {
		id := e.create(e.cache, fmt.Sprintf("k8s_c%d_p_ns_uid_0", i), managedLabels())
		must(t, e.cache.StartContainer(e.ctx, id))
	}
	n := 0
	for range ch {
		n++
	}
	if n == 0 || n >= 60 {
		t.Fatalf("slow subscriber got %d changes before the cut", n)
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	e := newEnv(t, Options{})
	ch := e.cache.Subscribe(e.ctx)
	must(t, e.cache.Close())
	eventually(t, "closed", func() bool {
		_, ok := <-ch
		return !ok
	})
	if _, ok := <-e.cache.Subscribe(e.ctx); ok {
		t.Fatal("subscription after Close delivered a change")
	}
}
