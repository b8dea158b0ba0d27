package cache

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

// lingering answers a stop only after linger: the container's events
// (die) reach the cache while the stop is still under way, as Docker's do.
type lingering struct {
	engine.Engine
	linger time.Duration
}

func (l *lingering) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	err := l.Engine.StopContainer(ctx, id, timeout)
	time.Sleep(l.linger)
	return err
}

// holdEnv is a cache over the fake whose stops linger, with one running
// managed container, its start's events applied.
func holdEnv(t *testing.T, linger time.Duration) (*fake.Fake, *Cache, string) {
	t.Helper()
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	c, err := New(context.Background(), &lingering{Engine: f, linger: linger},
		Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	id, err := c.CreateContainer(ctx, engine.CreateSpec{Name: "k8s_a_p_ns_uid_0",
		Config: &container.Config{Image: "busybox", Cmd: []string{"sleep", "1d"}, Labels: managedLabels()}})
	must(t, err)
	must(t, c.StartContainer(ctx, id))
	quiet(f)
	return f, c, id
}

// quiet waits until no inspect has reached the fake for a while.
func quiet(f *fake.Fake) {
	for stable, last := 0, -1; stable < 5; {
		n := f.CallCount("InspectContainer")
		if n == last {
			stable++
		} else {
			stable, last = 0, n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The events a stop causes arrive while it runs; its own inspect afterwards
// sees their outcome, so they cost no inspect of their own.
func TestHeldEventsCoveredByTheWrite(t *testing.T) {
	f, c, id := holdEnv(t, 150*time.Millisecond)
	before := f.CallCount("InspectContainer")
	must(t, c.StopContainer(context.Background(), id, 0))
	quiet(f)
	if n := f.CallCount("InspectContainer") - before; n != 1 {
		t.Errorf("inspects for one stop: %d, want 1 (its own)", n)
	}
	in, err := c.InspectContainer(context.Background(), id)
	must(t, err)
	if in.State.Running {
		t.Errorf("running after the stop")
	}
	if c.events.behind() {
		t.Errorf("cache behind after the stop")
	}
}

// Events never wait longer than holdLimit on a change: a stop that answers
// late (a long grace period) still has its container's exit applied
// meanwhile.
func TestHeldEventsFlushedAfterTheLimit(t *testing.T) {
	f, c, id := holdEnv(t, 3*holdLimit)
	done := make(chan error, 1)
	go func() { done <- c.StopContainer(context.Background(), id, 0) }()
	eventually(t, "the exit applied while the stop is under way", func() bool {
		c.mu.RLock()
		defer c.mu.RUnlock()
		e := c.entries[id]
		return e.live() && !e.inspect.State.Running
	})
	select {
	case err := <-done:
		t.Fatalf("stop returned (%v) before its events were applied: the test proves nothing", err)
	default:
	}
	must(t, <-done)
	quiet(f)
	if c.events.behind() {
		t.Errorf("cache behind after the stop")
	}
}
