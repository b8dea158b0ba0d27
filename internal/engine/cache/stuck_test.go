package cache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

// stuck makes inspects of one container wait until released, as Docker's
// do while it holds that container's lock.
type stuck struct {
	engine.Engine
	mu      sync.Mutex
	id      string
	release chan struct{}
}

func (s *stuck) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	s.mu.Lock()
	blocked, release := s.id, s.release
	s.mu.Unlock()
	if id == blocked {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, fmt.Errorf("inspect %s: %w: %w", id, context.DeadlineExceeded, ctx.Err())
		}
	}
	return s.Engine.InspectContainer(ctx, id)
}

func (s *stuck) block(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id, s.release = id, make(chan struct{})
}

func (s *stuck) unblock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.release)
	s.id = ""
}

// TestStuckContainerDelaysOnlyItself: Docker blocks inspects of one
// container; events about the others are still applied, the periodic resync
// does not hold them up, and reads never return the blocked container's
// outdated state for long (conformance once saw a 60 s stale RUNNING).
func TestStuckContainerDelaysOnlyItself(t *testing.T) {
	ctx := context.Background()
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	s := &stuck{Engine: f}
	c, err := New(ctx, s, Options{ResyncPeriod: 30 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(t, err)
	defer c.Close()
	start := func(name string) string {
		id, err := c.CreateContainer(ctx, engine.CreateSpec{Name: name, Config: &container.Config{Image: "busybox", Labels: managedLabels()}})
		must(t, err)
		must(t, c.StartContainer(ctx, id))
		return id
	}
	a, b := start("k8s_a_p_ns_uid_0"), start("k8s_b_p_ns_uid_0")
	state := func(id string) container.ContainerState { return states(t, c)[id] }

	s.block(a)
	must(t, f.ExitContainer(a, 1)) // its inspect now hangs
	must(t, f.ExitContainer(b, 2))
	eventually(t, "b's exit applied while a's inspect hangs", func() bool {
		return state(b) == container.StateExited
	})
	// a's change is overdue: reads go to the engine and are exact.
	eventually(t, "a's exit visible", func() bool { return state(a) == container.StateExited })

	s.unblock()
	eventually(t, "caught up and answering from memory", func() bool {
		return c.Synced() && !c.events.behind()
	})
	n := f.CallCount("ListContainers")
	if state(a) != container.StateExited || state(b) != container.StateExited {
		t.Fatalf("after catching up: a %q b %q", state(a), state(b))
	}
	if f.CallCount("ListContainers") > n+1 { // a periodic resync may list once
		t.Fatal("lists still go to the engine after catching up")
	}
}
