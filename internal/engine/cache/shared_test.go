package cache

import (
	"context"
	"testing"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// TestListSharedMemoFollowsChanges: an unchanged cache answers a repeated
// request with the same slice; any change answers afresh.
func TestListSharedMemoFollowsChanges(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	a := e.create(e.cache, "k8s_a_p_ns_uid_0", managedLabels())
	must(t, e.cache.StartContainer(ctx, a))
	running := engine.ListOptions{Labels: all.Labels} // running only
	first, err := e.cache.ListShared(ctx, running)
	must(t, err)
	again, err := e.cache.ListShared(ctx, running)
	must(t, err)
	if len(first) != 1 || len(again) != 1 || &first[0] != &again[0] {
		t.Fatalf("repeated request: %d then %d results, same slice %v; want 1, the same slice", len(first), len(again), len(first) == 1 && len(again) == 1 && &first[0] == &again[0])
	}
	b := e.create(e.cache, "k8s_b_p_ns_uid_0", managedLabels())
	must(t, e.cache.StartContainer(ctx, b))
	if got, err := e.cache.ListShared(ctx, running); err != nil || len(got) != 2 {
		t.Fatalf("after a start: %d results (%v); want 2", len(got), err)
	}
	// A change the cache learns from an event, not from its own call.
	must(t, e.fake.StopContainer(ctx, a, 0))
	eventually(t, "the stop seen by ListShared", func() bool {
		got, err := e.cache.ListShared(ctx, running)
		return err == nil && len(got) == 1 && got[0].Summary.ID == b
	})
	if got, err := e.cache.ListShared(ctx, all); err != nil || len(got) != 2 {
		t.Fatalf("all: %d results (%v); want 2", len(got), err)
	}
}
