package cache

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// A list narrowed through the index answers exactly what a scan of every
// container answers, in the same order, as containers come and go (by
// the cache's own calls and by events).
func TestIndexedListsMatchAScan(t *testing.T) {
	e := newEnv(t, Options{IndexLabel: naming.LabelSandboxID})
	ctx := context.Background()
	of := func(sb string) engine.ListOptions {
		return engine.ListOptions{All: true, Labels: append(slices.Clone(all.Labels), naming.LabelSandboxID+"="+sb)}
	}
	// scan answers what the index must: every live container's labels
	// checked, as the cache did before it had an index.
	scan := func(sb string) []string {
		list, err := e.cache.ListShared(ctx, all)
		must(t, err)
		var out []string
		for _, s := range list {
			if s.Summary.Labels[naming.LabelSandboxID] == sb {
				out = append(out, s.Summary.ID)
			}
		}
		return out
	}
	check := func(when string) {
		t.Helper()
		for _, sb := range []string{"sb-a", "sb-b", "sb-none"} {
			want := scan(sb)
			shared, err := e.cache.ListShared(ctx, of(sb))
			must(t, err)
			var got []string
			for _, s := range shared {
				got = append(got, s.Summary.ID)
			}
			list, err := e.cache.ListContainers(ctx, of(sb))
			must(t, err)
			var copied []string
			for _, c := range list {
				copied = append(copied, c.ID)
			}
			if !slices.Equal(got, want) || !slices.Equal(copied, want) {
				t.Fatalf("%s: sandbox %s: ListShared %v, ListContainers %v; a scan finds %v", when, sb, got, copied, want)
			}
		}
		e.cache.mu.RLock()
		used := e.cache.byIndex != nil
		e.cache.mu.RUnlock()
		if !used {
			t.Fatalf("%s: the lists by sandbox did not go through the index", when)
		}
	}
	var made []string
	for i := range 6 {
		sb := "sb-a"
		if i%2 == 1 {
			sb = "sb-b"
		}
		made = append(made, e.create(e.cache, fmt.Sprintf("k8s_c%d_p_ns_uid_0", i), managedLabels(naming.LabelSandboxID, sb)))
		check(fmt.Sprintf("after create %d", i))
	}
	// One without the label: in no bucket.
	e.create(e.cache, "k8s_bare_p_ns_uid_0", managedLabels())
	check("after a container without the label")
	if got, err := e.cache.ListShared(ctx, of("sb-a")); err != nil || len(got) != 3 {
		t.Fatalf("sandbox sb-a: %d containers (%v); want 3", len(got), err)
	}
	// A removal behind the cache's back, seen through the event stream.
	must(t, e.fake.RemoveContainer(ctx, made[0], engine.RemoveOptions{Force: true}))
	eventually(t, "the removal seen by the indexed list", func() bool {
		got, err := e.cache.ListShared(ctx, of("sb-a"))
		return err == nil && len(got) == 2
	})
	check("after a removal seen by event")
	must(t, e.cache.RemoveContainer(ctx, made[1], engine.RemoveOptions{Force: true}))
	check("after a removal through the cache")
	// Other filters still apply inside the bucket.
	must(t, e.cache.StartContainer(ctx, made[2]))
	running := engine.ListOptions{Labels: of("sb-a").Labels}
	if got := ids(t, e.cache, running); !slices.Equal(got, []string{made[2]}) {
		t.Fatalf("running containers of sb-a: %v; want [%s]", got, made[2])
	}
}
