package cache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

// dockerStatus lists like Docker: the fake renders the status text its own
// way, Docker with go-units' human durations, which the partial resync
// compares against.
type dockerStatus struct{ engine.Engine }

func (d dockerStatus) ListContainers(ctx context.Context, opts engine.ListOptions) ([]container.Summary, error) {
	list, err := d.Engine.ListContainers(ctx, opts)
	for i := range list {
		if in, err := d.Engine.InspectContainer(ctx, list[i].ID); err == nil {
			list[i].Status = status(in.State, parseTimes(in.State), time.Now())
		}
	}
	return list, err
}

// diffEnv is a cache over a fake that lists like Docker, with frequent
// periodic resyncs that inspect unchanged containers only in their turn
// (one in fullEvery resyncs).
type diffEnv struct {
	fake   *fake.Fake
	wrap   *flaky
	cache  *Cache
	rec    *recorder
	offset atomic.Int64 // the fake's clock: real time + offset
}

func newDiffEnv(t *testing.T, fullEvery int) *diffEnv {
	t.Helper()
	d := &diffEnv{fake: fake.New(), rec: &recorder{}}
	d.fake.Now = func() time.Time { return time.Now().Add(time.Duration(d.offset.Load())) }
	d.fake.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	d.wrap = newFlaky(d.fake)
	c, err := New(context.Background(), dockerStatus{d.wrap}, Options{
		ResyncPeriod: 15 * time.Millisecond, Metrics: d.rec, fullEvery: fullEvery,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	d.cache = c
	return d
}

func (d *diffEnv) run(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	id, err := d.cache.CreateContainer(ctx, engine.CreateSpec{
		Name: name, Config: &container.Config{Image: "busybox", Labels: managedLabels()},
	})
	must(t, err)
	must(t, d.cache.StartContainer(ctx, id))
	return id
}

// inspectsOver counts the engine's inspects while n more periodic resyncs
// complete.
func (d *diffEnv) inspectsOver(t *testing.T, n int) int {
	t.Helper()
	before, done := d.fake.CallCount("InspectContainer"), d.rec.count("periodic")
	eventually(t, "periodic resyncs", func() bool { return d.rec.count("periodic") >= done+n })
	return d.fake.CallCount("InspectContainer") - before
}

func TestPartialResyncInspectsOnlyChanges(t *testing.T) {
	d := newDiffEnv(t, 1000)
	const n = 6
	for i := range n {
		d.run(t, "k8s_c"+string(rune('a'+i))+"_p_ns_uid_0")
	}
	d.inspectsOver(t, 2) // the start events' inspects settle
	// The wrapper inspects every listed container to render its status:
	// n per resync. The cache's own inspects come on top.
	if got := d.inspectsOver(t, 4); got > 4*n+n/2 {
		t.Fatalf("%d inspects over 4 periodic resyncs of %d unchanged containers; want about %d (the listing's own)", got, n, 4*n)
	}

	// With every container's turn in every periodic resync, each one
	// inspects all of them.
	full := newDiffEnv(t, 1)
	for i := range n {
		full.run(t, "k8s_c"+string(rune('a'+i))+"_p_ns_uid_0")
	}
	full.inspectsOver(t, 2)
	// The first of the four may have made some of its inspects before the
	// count began (a busy machine): three full ones at least, still well
	// above the partial resyncs' one per container.
	if got := full.inspectsOver(t, 4); got < 3*2*n {
		t.Fatalf("full resyncs: %d inspects over 4 resyncs of %d containers; want at least %d", got, n, 3*2*n)
	}
}

func TestPartialResyncRepairsMissedStop(t *testing.T) {
	d := newDiffEnv(t, 1000)
	id := d.run(t, "k8s_a_p_ns_uid_0")
	d.wrap.Drop(true)
	must(t, d.fake.StopContainer(context.Background(), id, 0))
	eventually(t, "the missed stop seen", func() bool {
		in, err := d.cache.InspectContainer(context.Background(), id)
		return err == nil && !in.State.Running
	})
}

func TestPartialResyncRepairsMissedRestart(t *testing.T) {
	d := newDiffEnv(t, 1000)
	d.offset.Store(int64(-time.Hour)) // started an hour ago
	id := d.run(t, "k8s_a_p_ns_uid_0")
	d.wrap.Drop(true)
	ctx := context.Background()
	was, err := d.cache.InspectContainer(ctx, id)
	must(t, err)
	d.offset.Store(0)
	must(t, d.fake.StopContainer(ctx, id, 0))
	must(t, d.fake.StartContainer(ctx, id))
	now, err := d.fake.InspectContainer(ctx, id)
	must(t, err)
	if now.State.StartedAt == was.State.StartedAt {
		t.Fatal("test broken: the restart kept its start time")
	}
	eventually(t, "the missed restart seen", func() bool {
		in, err := d.cache.InspectContainer(ctx, id)
		return err == nil && in.State.StartedAt == now.State.StartedAt
	})
}

func TestPartialResyncRepairsMissedRemoveAndCreate(t *testing.T) {
	d := newDiffEnv(t, 1000)
	gone := d.run(t, "k8s_a_p_ns_uid_0")
	d.wrap.Drop(true)
	ctx := context.Background()
	must(t, d.fake.RemoveContainer(ctx, gone, engine.RemoveOptions{Force: true}))
	added, err := d.fake.CreateContainer(ctx, engine.CreateSpec{
		Name: "k8s_b_p_ns_uid_0", Config: &container.Config{Image: "busybox", Labels: managedLabels()},
	})
	must(t, err)
	eventually(t, "the missed removal and creation seen", func() bool {
		got := ids(t, d.cache, all)
		return len(got) == 1 && got[0] == added
	})
}

// The turns spread the inspection of unchanged containers over fullEvery
// periodic resyncs: over a whole number of rounds each container is
// inspected once a round — not all at once every fullEvery-th resync.
func TestPeriodicResyncInspectsEachInTurn(t *testing.T) {
	const n, every = 24, 4
	d := newDiffEnv(t, every)
	for i := range n {
		d.run(t, fmt.Sprintf("k8s_c%02d_p_ns_uid_0", i))
	}
	d.inspectsOver(t, 2) // the start events' inspects settle
	// The wrapper inspects each listed container once per resync to
	// render its status; the turns add n per round of `every` resyncs.
	const rounds = 3
	got := d.inspectsOver(t, rounds*every) - rounds*every*n
	if got < rounds*n-n/2 || got > rounds*n+n {
		t.Fatalf("%d inspects beyond the listings' over %d rounds of %d containers; want about %d", got, rounds, n, rounds*n)
	}
	// And no resync inspects them all at once: each takes its share. The
	// inspects are counted as each resync ends, so that each count is one
	// resync's, however slow the machine.
	d.rec.marking(func() int { return d.fake.CallCount("InspectContainer") })
	eventually(t, "periodic resyncs", func() bool { return len(d.rec.marked()) > 2*every })
	marks := d.rec.marked()
	for i := 1; i < len(marks); i++ {
		if extra := marks[i] - marks[i-1] - n; extra > n/2 {
			t.Fatalf("periodic resync %d inspected %d unchanged containers of %d; want about %d, its turn's share", i, extra, n, n/every)
		}
	}
}
