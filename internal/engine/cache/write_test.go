package cache

import (
	"context"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func TestReadYourWrites(t *testing.T) {
	e := newEnv(t, Options{})
	e.wrap.Hold() // no events: only the calls themselves can update the cache
	defer e.wrap.Release()
	ctx := e.ctx
	state := func(id string) (container.ContainerState, *container.InspectResponse) {
		t.Helper()
		in, err := e.cache.InspectContainer(ctx, id)
		if errdefs.IsNotFound(err) {
			return "", nil
		}
		must(t, err)
		if got := states(t, e.cache)[id]; got != in.State.Status {
			t.Fatalf("list says %q, inspect %q", got, in.State.Status)
		}
		return in.State.Status, in
	}

	id := e.create(e.cache, "k8s_a_p_ns_uid_0", managedLabels())
	if st, _ := state(id); st != container.StateCreated {
		t.Fatalf("after create: %q", st)
	}
	must(t, e.cache.StartContainer(ctx, id))
	if st, _ := state(id); st != container.StateRunning {
		t.Fatalf("after start: %q", st)
	}
	must(t, e.cache.UpdateContainerResources(ctx, id, container.Resources{CPUShares: 512}))
	if _, in := state(id); in.HostConfig.CPUShares != 512 {
		t.Fatalf("after update: cpu shares %d", in.HostConfig.CPUShares)
	}
	must(t, e.cache.KillContainer(ctx, "k8s_a_p_ns_uid_0", "KILL")) // by name
	if st, in := state(id); st != container.StateExited || in.State.ExitCode != 137 {
		t.Fatalf("after kill: %q", st)
	}
	must(t, e.cache.StartContainer(ctx, id[:12])) // by prefix
	must(t, e.cache.StopContainer(ctx, id, 0))
	if st, in := state(id); st != container.StateExited || in.RestartCount != 1 {
		t.Fatalf("after stop: %q restarts %d", st, in.RestartCount)
	}
	must(t, e.cache.RemoveContainer(ctx, id, engine.RemoveOptions{}))
	if st, _ := state(id); st != "" {
		t.Fatalf("after remove: %q", st)
	}
	if n := len(ids(t, e.cache, all)); n != 0 {
		t.Fatalf("%d listed after remove", n)
	}
}

func TestFailedRefreshPassesThrough(t *testing.T) {
	e := newEnv(t, Options{})
	e.wrap.Hold()
	id := e.create(e.cache, "k8s_a_p_ns_uid_0", managedLabels())
	// The start works but the cache cannot see its result.
	e.fake.InjectError("InspectContainer", fmt.Errorf("glitch: %w", errdefs.ErrUnavailable))
	must(t, e.cache.StartContainer(e.ctx, id))
	// Whatever the resync timing, the answer is never the stale "created".
	if st := states(t, e.cache)[id]; st != container.StateRunning {
		t.Fatalf("after start with failed refresh: %q", st)
	}
	eventually(t, "resynced", e.cache.Synced)
	e.wrap.Release()
	e.served(func() {
		if st := states(t, e.cache)[id]; st != container.StateRunning {
			t.Fatalf("after resync: %q", st)
		}
	})
}

func TestFailedCallsStillRefresh(t *testing.T) {
	e := newEnv(t, Options{})
	e.wrap.Hold()
	defer e.wrap.Release()
	id := e.create(e.cache, "k8s_a_p_ns_uid_0", managedLabels())
	must(t, e.cache.StartContainer(e.ctx, id))
	// Removal of a running container fails; the cache keeps it.
	if err := e.cache.RemoveContainer(e.ctx, id, engine.RemoveOptions{}); !errdefs.IsConflict(err) {
		t.Fatalf("remove running: %v", err)
	}
	if st := states(t, e.cache)[id]; st != container.StateRunning {
		t.Fatalf("after failed remove: %q", st)
	}
	// Removed behind the cache's back, then a call on it: the cache learns.
	must(t, e.fake.RemoveContainer(e.ctx, id, engine.RemoveOptions{Force: true}))
	if err := e.cache.StopContainer(e.ctx, id, 0); !errdefs.IsNotFound(err) {
		t.Fatalf("stop removed: %v", err)
	}
	if _, ok := states(t, e.cache)[id]; ok {
		t.Fatal("removed container still cached after a call told us")
	}
	// Unknown ids do not touch the cache.
	if err := e.cache.StopContainer(e.ctx, "nosuch", 0); !errdefs.IsNotFound(err) {
		t.Fatalf("stop unknown: %v", err)
	}
}

func TestFailingResyncIsRetried(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.create(e.cache, "k8s_a_p_ns_uid_0", managedLabels())
	// Every inspect fails for a while: the refresh after Start and the
	// resyncs it asks for all fail, and reads go to the engine.
	e.fake.InjectPersistentError("InspectContainer", fmt.Errorf("daemon trouble: %w", errdefs.ErrUnavailable))
	must(t, e.cache.StartContainer(e.ctx, id))
	if e.cache.Synced() {
		t.Fatal("synced although the refresh failed")
	}
	eventually(t, "a failed resync", func() bool {
		e.rec.mu.Lock()
		defer e.rec.mu.Unlock()
		return e.rec.failed > 0
	})
	if st := states(t, e.cache)[id]; st != container.StateRunning {
		t.Fatalf("while unsynced: %q", st)
	}
	e.fake.ClearError("InspectContainer")
	eventually(t, "recovered by a retry", func() bool { return e.cache.Synced() && e.rec.count("retry") > 0 })
	e.served(func() {
		if st := states(t, e.cache)[id]; st != container.StateRunning {
			t.Fatalf("after recovery: %q", st)
		}
	})
}

func TestRemoveByShortPrefix(t *testing.T) {
	e := newEnv(t, Options{})
	e.wrap.Hold() // only the call itself may update the cache
	defer e.wrap.Release()
	id := e.create(e.cache, "k8s_a_p_ns_uid_0", managedLabels())
	keep := e.create(e.cache, "k8s_b_p_ns_uid_0", managedLabels())
	must(t, e.cache.RemoveContainer(e.ctx, id[:5], engine.RemoveOptions{}))
	if got := ids(t, e.cache, all); len(got) != 1 || got[0] != keep {
		t.Fatalf("after removal by short prefix: %v, want [%s]", got, keep)
	}
}

// A change the daemon did not answer (hung: the call timed out) is not
// followed by an inspect, which would keep the caller waiting another
// request timeout: the cache marks itself stale and reads pass through.
func TestUnansweredChangeMarksStaleWithoutInspect(t *testing.T) {
	e := newEnv(t, Options{})
	e.wrap.Hold()
	defer e.wrap.Release()
	id := e.create(e.cache, "k8s_a_p_ns_uid_0", managedLabels())
	must(t, e.cache.StartContainer(e.ctx, id))
	// The resync the stale cache asks for would inspect every container
	// and mark the cache synced again, racing with the checks below: with
	// the daemon's list failing it stops before any inspect, as it would
	// against the hung daemon this stands for.
	e.fake.InjectPersistentError("ListContainers", fmt.Errorf("no answer: %w", context.DeadlineExceeded))
	defer e.fake.ClearError("ListContainers")
	inspects := e.fake.CallCount("InspectContainer")
	e.fake.InjectError("StopContainer", fmt.Errorf("no answer: %w", context.DeadlineExceeded))
	if err := e.cache.StopContainer(e.ctx, id, 0); !errdefs.IsDeadlineExceeded(err) {
		t.Fatalf("stop: %v", err)
	}
	if n := e.fake.CallCount("InspectContainer") - inspects; n != 0 {
		t.Errorf("%d inspects after an unanswered change, want 0", n)
	}
	if e.cache.Synced() {
		t.Error("the cache still answers from memory after an unanswered change")
	}
}
