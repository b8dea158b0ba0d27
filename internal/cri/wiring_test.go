package cri

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/network"
)

// recLogs is a LogManager that records calls; drainErr is what Drain
// returns (nil: the copier has finished).
type recLogs struct {
	mu        sync.Mutex
	starts    []string
	paths     [][2]string // root, path of each start
	drains    []string
	deadlines []time.Duration
	drainErr  error
}

func (l *recLogs) StartIn(_ context.Context, id, root, path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.starts = append(l.starts, id)
	l.paths = append(l.paths, [2]string{root, path})
	return nil
}

func (l *recLogs) Drain(ctx context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drains = append(l.drains, id)
	if d, ok := ctx.Deadline(); ok {
		l.deadlines = append(l.deadlines, time.Until(d))
	}
	return l.drainErr
}

func (l *recLogs) Reopen(context.Context, string) error { return nil }
func (l *recLogs) Stop(string)                          {}

func (l *recLogs) calls() (starts, drains []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.starts), slices.Clone(l.drains)
}

// recStats records Forget.
type recStats struct {
	stubStats
	mu      sync.Mutex
	forgets []string
}

func (s *recStats) Forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgets = append(s.forgets, id)
}

// gcNet is a network plugin that also collects garbage: it asks live about
// each id in pods.
type gcNet struct {
	network.Plugin
	pods []string
	live map[string]bool
}

func (g *gcNet) GC(_ context.Context, live func(string) bool) error {
	g.live = map[string]bool{}
	for _, id := range g.pods {
		g.live[id] = live(id)
	}
	return nil
}

// wire rebuilds h.svc with the given collaborators.
func (h *harness) wire(o TestNode) *Service {
	h.t.Helper()
	h.svc = h.node(o)
	return h.svc
}

// startLogged creates and starts a container that has a log path.
func (h *harness) startLogged(sb, name, logDir string) string {
	h.t.Helper()
	cfg := containerConfig(name)
	cfg.LogPath = name + ".log"
	sbc := sandboxConfig("x")
	sbc.LogDirectory = logDir
	resp, err := h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg, SandboxConfig: sbc})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: resp.ContainerId}); err != nil {
		h.t.Fatal(err)
	}
	return resp.ContainerId
}

func TestContainerStatusDrainsExitedLog(t *testing.T) {
	h := newHarness(t)
	logs := &recLogs{}
	h.wire(TestNode{Logs: logs})
	sb := h.runSandbox("drain")
	id := h.startLogged(sb, "app", t.TempDir())

	h.status(id)
	if _, drains := logs.calls(); len(drains) != 0 {
		t.Fatalf("status of a running container drained its log: %v", drains)
	}
	h.exit(id, 0)
	if st := h.status(id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Fatalf("state %v, want exited", st.State)
	}
	if _, drains := logs.calls(); !slices.Equal(drains, []string{id}) {
		t.Fatalf("drains %v, want one of %s", drains, id)
	}
	if len(logs.deadlines) != 1 || logs.deadlines[0] > statusDrainBound {
		t.Fatalf("drain deadlines %v, want one within %v", logs.deadlines, statusDrainBound)
	}
}

// A copier that does not finish in time costs one bounded wait, not one
// per status poll; removing the container forgets that.
func TestContainerStatusGivesUpOnStuckDrain(t *testing.T) {
	h := newHarness(t)
	logs := &recLogs{drainErr: fmt.Errorf("drain: %w", context.DeadlineExceeded)}
	h.wire(TestNode{Logs: logs})
	sb := h.runSandbox("stuck")
	id := h.startLogged(sb, "app", t.TempDir())
	h.exit(id, 1)
	for range 3 {
		h.status(id)
	}
	if _, drains := logs.calls(); len(drains) != 1 {
		t.Fatalf("drains %v, want exactly one attempt", drains)
	}
	if _, err := h.svc.RemoveContainer(h.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if h.svc.drains.given(id) {
		t.Fatal("a removed container is still remembered")
	}
}

// After a restart, copiers start for running containers and for those that
// exited after their log was last written; not for ones already drained,
// nor for another server's.
func TestResumeCatchesUpContainersExitedWhileDown(t *testing.T) {
	h := newHarness(t)
	h.wire(TestNode{Logs: &recLogs{}})
	dir := t.TempDir()
	sb := h.runSandbox("resume")
	running := h.startLogged(sb, "running", dir)
	missed := h.startLogged(sb, "missed", dir)
	drained := h.startLogged(sb, "drained", dir)
	for _, id := range []string{missed, drained} {
		h.exit(id, 0)
	}
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	for name, when := range map[string]time.Time{"running": past, "missed": past, "drained": future} {
		p := filepath.Join(dir, name+".log")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	logs := &recLogs{}
	h.wire(TestNode{Logs: logs}) // the restarted server
	h.svc.Resume(h.ctx)
	starts, _ := logs.calls()
	slices.Sort(starts)
	want := []string{running, missed}
	slices.Sort(want)
	if !slices.Equal(starts, want) {
		t.Fatalf("resumed copiers %v, want %v (running, missed)", starts, want)
	}

	other := &recLogs{}
	h.root = t.TempDir() // a server with another root dir owns none of them
	h.wire(TestNode{Logs: other})
	h.svc.Resume(h.ctx)
	if starts, _ := other.calls(); len(starts) != 0 {
		t.Fatalf("another server resumed copiers of containers it does not own: %v", starts)
	}
}

func TestRemovePodSandboxForgetsStats(t *testing.T) {
	h := newHarness(t)
	st := &recStats{}
	h.wire(TestNode{Stats: st})
	sb := h.runSandbox("forget")
	ctr := h.createContainer(sb, "app")
	if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(st.forgets)
	want := []string{sb, ctr}
	slices.Sort(want)
	if !slices.Equal(st.forgets, want) {
		t.Fatalf("forgotten %v, want %v", st.forgets, want)
	}
}

// At start-up a garbage-collecting plugin learns which sandboxes are still
// known: by container, by checkpoint alone, or neither.
func TestReconcileGarbageCollectsNetwork(t *testing.T) {
	h := newHarness(t)
	withCtr := h.runSandbox("gc-ctr")
	ckptOnly := h.runSandbox("gc-ckpt")
	gone := h.runSandbox("gc-gone")
	for _, id := range []string{ckptOnly, gone} {
		if err := h.fake.RemoveContainer(h.ctx, id, engine.RemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.ckpt.Delete(gone); err != nil {
		t.Fatal(err)
	}
	base, err := network.New(h.fake, network.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// The checkpoint-only sandbox must be written after the new Service
	// starts, or Reconcile releases it as an orphan before GC runs.
	net := &gcNet{Plugin: base, pods: []string{withCtr, ckptOnly, gone}}
	svc := h.wire(TestNode{Network: net})
	cp, err := h.svc.ckpt.Load(ckptOnly)
	if err != nil || cp == nil {
		t.Fatal(cp, err)
	}
	now := time.Now().Add(time.Second)
	if err := os.Chtimes(filepath.Join(svc.ckpt.dir, ckptOnly+".json"), now, now); err != nil {
		t.Fatal(err)
	}
	svc.Reconcile(h.ctx)
	want := map[string]bool{withCtr: true, ckptOnly: true, gone: false}
	for id, live := range want {
		if got, ok := net.live[id]; !ok || got != live {
			t.Errorf("live(%s) = %v (asked: %v), want %v", id, got, ok, live)
		}
	}
}
