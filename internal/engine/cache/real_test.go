package cache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// These tests and benchmarks use the shared dockerd. Everything they create
// is named dltcache-… and carries testLabel=<run id> but not the managed
// label; the caches select on the test label, so no other user's containers
// are touched and ours are never taken for dockerlet's.
const testLabel = "io.dockerlet.test.dltcache"

var runSeq atomic.Int64

type realNode struct {
	eng    *engine.Client
	image  string
	filter string // testLabel=<run id>
	run    string
}

func newRealNode(tb testing.TB) *realNode {
	tb.Helper()
	testutil.RequireDocker(tb)
	eng, err := engine.Connect(testutil.DockerHost(), engine.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	run := fmt.Sprintf("%d-%d", time.Now().UnixNano()%1e9, runSeq.Add(1))
	reg := testutil.StartRegistry(tb)
	ref := reg.PushBusybox(tb, "dltcache/busybox:"+run, testutil.ImageOptions{Marker: "dltcache-" + run})
	ctx := context.Background()
	if err := eng.PullImage(ctx, ref, engine.PullOptions{}); err != nil {
		tb.Fatalf("pull %s: %v", ref, err)
	}
	n := &realNode{eng: eng, image: ref, filter: testLabel + "=" + run, run: run}
	tb.Cleanup(func() {
		list, _ := eng.ListContainers(context.Background(), engine.ListOptions{All: true, Labels: []string{n.filter}})
		var wg sync.WaitGroup
		for _, s := range list {
			wg.Go(func() { _ = eng.RemoveContainer(context.Background(), s.ID, engine.RemoveOptions{Force: true}) })
		}
		wg.Wait()
		_, _ = eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
	})
	return n
}

func (n *realNode) spec(name string) engine.CreateSpec {
	return engine.CreateSpec{
		Name: "dltcache-" + n.run + "-" + name,
		Config: &container.Config{
			Image: n.image, Cmd: []string{"sleep", "600"},
			Labels: map[string]string{testLabel: n.run, naming.LabelType: naming.TypeContainer},
		},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	}
}

func (n *realNode) create(tb testing.TB, eng engine.Engine, name string, start bool) string {
	tb.Helper()
	ctx := context.Background()
	id, err := eng.CreateContainer(ctx, n.spec(name))
	if err != nil {
		tb.Fatalf("create %s: %v", name, err)
	}
	if start {
		if err := eng.StartContainer(ctx, id); err != nil {
			tb.Fatalf("start %s: %v", name, err)
		}
	}
	return id
}

func (n *realNode) listOpts() engine.ListOptions {
	return engine.ListOptions{All: true, Labels: []string{n.filter}}
}

// counting counts the List and Inspect calls that reach the engine.
type counting struct {
	engine.Engine
	lists, inspects atomic.Int64
}

func (c *counting) ListContainers(ctx context.Context, o engine.ListOptions) ([]container.Summary, error) {
	c.lists.Add(1)
	return c.Engine.ListContainers(ctx, o)
}

func (c *counting) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	c.inspects.Add(1)
	return c.Engine.InspectContainer(ctx, id)
}

func realStates(t *testing.T, eng engine.Engine, opts engine.ListOptions) string {
	t.Helper()
	list, err := eng.ListContainers(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]container.ContainerState{}
	for _, s := range list {
		m[s.ID[:12]] = s.State
	}
	return fmt.Sprint(m)
}

// TestRealEventLoss: events are lost while containers change on the real
// daemon, then the stream fails; the next List is exact, and after the
// resync it is exact from memory. (Restarting the shared dockerd is not an
// option, so the loss is simulated between the engine and the cache.)
func TestRealEventLoss(t *testing.T) {
	n := newRealNode(t)
	ctx := context.Background()
	cnt := &counting{Engine: n.eng}
	w := newFlaky(cnt)
	c, err := New(ctx, w, Options{LabelFilter: n.filter, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opts := n.listOpts()
	a := n.create(t, n.eng, "a", true)
	b := n.create(t, n.eng, "b", true)
	cc := n.create(t, n.eng, "c", false)
	eventually(t, "cache follows the daemon", func() bool { return realStates(t, c, opts) == realStates(t, n.eng, opts) })

	w.Drop(true)
	must(t, n.eng.StopContainer(ctx, a, 0))
	must(t, n.eng.RemoveContainer(ctx, b, engine.RemoveOptions{Force: true}))
	must(t, n.eng.StartContainer(ctx, cc))
	n.create(t, n.eng, "d", false)
	// Events flow again; one for a new container proves that the earlier
	// ones (delivered in order before it) were really lost.
	w.Drop(false)
	e := n.create(t, n.eng, "e", false)
	eventually(t, "event after the loss", func() bool {
		_, err := c.InspectContainer(ctx, e)
		return err == nil
	})
	if realStates(t, c, opts) == realStates(t, n.eng, opts) {
		t.Fatal("cache exact although events were dropped: the test proves nothing")
	}

	opened := w.Opened()
	w.Break(errBroken)
	eventually(t, "reconnect", func() bool { return w.Opened() > opened })
	if got, want := realStates(t, c, opts), realStates(t, n.eng, opts); got != want {
		t.Fatalf("first List after the stream failed:\n got %s\nwant %s", got, want)
	}
	eventually(t, "resynced", c.Synced)
	want := realStates(t, n.eng, opts)
	// Quiesce: events replayed on reconnect cause background inspects.
	w.Hold()
	defer w.Release()
	for stable, last := 0, int64(-1); stable < 3; time.Sleep(20 * time.Millisecond) {
		if now := cnt.lists.Load() + cnt.inspects.Load(); now == last {
			stable++
		} else {
			stable, last = 0, now
		}
	}
	lists, inspects := cnt.lists.Load(), cnt.inspects.Load()
	if got := realStates(t, c, opts); got != want {
		t.Fatalf("after resync:\n got %s\nwant %s", got, want)
	}
	if _, err := c.InspectContainer(ctx, a); err != nil {
		t.Fatal(err)
	}
	if dl, di := cnt.lists.Load()-lists, cnt.inspects.Load()-inspects; dl != 0 || di != 0 {
		t.Fatalf("after resync the cache still asks the daemon: %d lists, %d inspects", dl, di)
	}
}

// TestRealReadYourWrites: with events held back, every call through the
// cache is visible in the cache when it returns.
func TestRealReadYourWrites(t *testing.T) {
	n := newRealNode(t)
	ctx := context.Background()
	w := newFlaky(n.eng)
	c, err := New(ctx, w, Options{LabelFilter: n.filter, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w.Hold()
	defer w.Release()
	state := func(id string) container.ContainerState {
		in, err := c.InspectContainer(ctx, id)
		if err != nil {
			return ""
		}
		return in.State.Status
	}
	id := n.create(t, c, "ryw", false)
	if st := state(id); st != container.StateCreated {
		t.Fatalf("after create: %q", st)
	}
	must(t, c.StartContainer(ctx, id))
	if st := state(id); st != container.StateRunning {
		t.Fatalf("after start: %q", st)
	}
	must(t, c.KillContainer(ctx, id, "KILL"))
	if in, err := c.InspectContainer(ctx, id); err != nil || in.State.Running || in.State.ExitCode != 137 {
		t.Fatalf("after kill: %+v %v", in.State, err)
	}
	must(t, c.RemoveContainer(ctx, id, engine.RemoveOptions{}))
	if st := state(id); st != "" {
		t.Fatalf("after remove: %q", st)
	}
	if got, want := realStates(t, c, n.listOpts()), realStates(t, n.eng, n.listOpts()); got != want {
		t.Fatalf("list %s, daemon %s", got, want)
	}
}

// realBenchNode creates benchPods pods (220 containers, created, not
// started: Docker's List and Inspect cost does not depend on it, and 220
// running processes would disturb the other users of the shared daemon).
func realBenchNode(b *testing.B) (*realNode, *Cache, string) {
	n := newRealNode(b)
	ctx := context.Background()
	specs := podSpecs(n.image, benchPods, testLabel)
	ids := make([]string, len(specs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, spec := range specs {
		spec.Name = "dltcache-" + n.run + "-" + spec.Name
		spec.Config.Labels[testLabel] = n.run
		// Not dockerlet's: other users of the daemon must not see these.
		delete(spec.Config.Labels, naming.LabelManaged)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id, err := n.eng.CreateContainer(ctx, spec)
			if err != nil {
				b.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	c, err := New(ctx, n.eng, Options{LabelFilter: n.filter, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if !c.Synced() {
		b.Fatal("cache not synced")
	}
	return n, c, ids[len(ids)-1]
}

// BenchmarkRealListContainers: the kubelet's container relist at 110 pods
// against dockerd and from the cache.
func BenchmarkRealListContainers(b *testing.B) {
	n, c, _ := realBenchNode(b)
	opts := engine.ListOptions{All: true, Labels: []string{n.filter, naming.LabelType + "=" + naming.TypeContainer}}
	for _, eng := range []struct {
		name string
		e    engine.Engine
	}{{"cache", c}, {"dockerd", n.eng}} {
		b.Run(eng.name, func(b *testing.B) {
			b.ReportAllocs()
			measureCPU(b, true, func() {
				for b.Loop() {
					list, err := eng.e.ListContainers(context.Background(), opts)
					if err != nil || len(list) != benchPods {
						b.Fatalf("%d, %v", len(list), err)
					}
				}
			})
		})
	}
}

// BenchmarkRealInspectContainer: ContainerStatus's engine call against
// dockerd and from the cache.
func BenchmarkRealInspectContainer(b *testing.B) {
	n, c, id := realBenchNode(b)
	for _, eng := range []struct {
		name string
		e    engine.Engine
	}{{"cache", c}, {"dockerd", n.eng}} {
		b.Run(eng.name, func(b *testing.B) {
			b.ReportAllocs()
			measureCPU(b, true, func() {
				for b.Loop() {
					if _, err := eng.e.InspectContainer(context.Background(), id); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestRealFailedStart: Docker keeps a container whose start failed
// "created" in its listing; the cache's record says the start failed and
// its subscribers see the container stop.
func TestRealFailedStart(t *testing.T) {
	n := newRealNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := New(ctx, n.eng, Options{LabelFilter: n.filter, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	changes := c.Subscribe(ctx)
	spec := n.spec("nostart")
	spec.Config.Cmd = []string{"/no/such/command"}
	id, err := c.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartContainer(ctx, id); err == nil {
		t.Fatal("a container without its command started")
	}
	list, err := c.ListShared(ctx, n.listOpts())
	if err != nil || len(list) != 1 {
		t.Fatalf("ListShared: %d listed, %v", len(list), err)
	}
	if sh := list[0]; sh.Summary.State != container.StateCreated || !sh.Inspected || !sh.StartFailed {
		t.Fatalf("listed %s, inspected %v, start failed %v; want created, true, true", sh.Summary.State, sh.Inspected, sh.StartFailed)
	}
	var kinds []ChangeKind
	for len(kinds) < 2 {
		select {
		case ch := <-changes:
			if ch.ID == id {
				kinds = append(kinds, ch.Kind)
			}
		case <-ctx.Done():
			t.Fatalf("changes seen for the container: %v, want created and stopped", kinds)
		}
	}
	if kinds[0] != ChangeCreated || kinds[1] != ChangeStopped {
		t.Fatalf("changes %v, want created then stopped", kinds)
	}
}
