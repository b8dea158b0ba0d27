package pod

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const twoPods = `apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  containers: [{name: c, image: i:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec:
  containers: [{name: c, image: i:1, lifecycle: {preStop: {exec: {command: ["true"]}}}}]
`

func TestNewAppliedKeepsUnchangedPods(t *testing.T) {
	m, err := Parse("/x.yaml", strings.NewReader(twoPods))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	a1 := NewApplied(m, nil, t0)
	changed := strings.Replace(twoPods, "name: c, image: i:1}]\n---", "name: c, image: i:2}]\n---", 1)
	m2, _ := Parse("/x.yaml", strings.NewReader(changed))
	a2 := NewApplied(m2, a1, t0.Add(time.Minute))
	if a2.Pods[0].UID == a1.Pods[0].UID {
		t.Error("changed pod kept its uid")
	}
	if a2.Pods[1].UID != a1.Pods[1].UID {
		t.Error("unchanged pod got a new uid")
	}
	if a1.SourceID != SourceID("/x.yaml") || SourceID("-") != "stdin" {
		t.Errorf("source id %q", a1.SourceID)
	}
	store := Store{Dir: t.TempDir()}
	if err := store.SaveApplied(a2); err != nil {
		t.Fatal(err)
	}
	got, err := store.LoadApplied(a2.SourceID)
	if err != nil || len(got.Pods) != 2 || got.Pods[1].UID != a1.Pods[1].UID {
		t.Fatalf("load: %v %v", got, err)
	}
	if missing, err := store.LoadApplied("nope"); missing != nil || err != nil {
		t.Fatalf("missing record: %v %v", missing, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSupervisorAndDown(t *testing.T) {
	m, err := Parse("/x.yaml", strings.NewReader(twoPods))
	if err != nil {
		t.Fatal(err)
	}
	store := Store{Dir: t.TempDir()}
	a := NewApplied(m, nil, time.Now())
	if err := store.SaveApplied(a); err != nil {
		t.Fatal(err)
	}
	rt := newFakeRuntime(newFakeClock())
	rt.images["i:1"] = true
	h := &fakeHandler{probes: map[string]bool{}}
	cfg := Config{Runtime: rt, StateDir: store.Dir, Handler: h, SyncPeriod: 5 * time.Millisecond}
	sup := NewSupervisor(cfg, store, nil)
	sup.ReloadPeriod = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sup.Run(ctx) }()
	for _, p := range a.Pods {
		waitFor(t, p.Name+" running", func() bool {
			st, ok := store.ReadStatus(string(p.UID))
			return ok && st.Phase == corev1.PodRunning && st.Ready
		})
	}
	if n := len(sup.Statuses()); n != 2 {
		t.Fatalf("%d statuses", n)
	}
	if err := Down(context.Background(), cfg, store, a.SourceID, DownOptions{Supervised: true}); err != nil {
		t.Fatal(err)
	}
	rt.mu.Lock()
	left := len(rt.sandboxes) + len(rt.containers)
	rt.mu.Unlock()
	if left != 0 {
		t.Fatalf("down left %d objects", left)
	}
	if len(h.hooks) != 1 || h.hooks[0] != "c" {
		t.Errorf("preStop hooks: %v", h.hooks)
	}
	if rec, _ := store.LoadApplied(a.SourceID); rec != nil {
		t.Error("record survived down")
	}
	// The supervisor let go: nothing comes back.
	time.Sleep(50 * time.Millisecond)
	rt.mu.Lock()
	left = len(rt.sandboxes)
	rt.mu.Unlock()
	if left != 0 {
		t.Fatal("supervisor re-created a pod after down")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestObserveWithoutSupervisor(t *testing.T) {
	h := newHarness(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: i:1, readinessProbe: {exec: {command: [x]}}}]\n")
	h.rt.images["i:1"] = true
	w0 := NewWorker(h.w.cfg, h.w.pod, h.w.objs, "src")
	if s := w0.Observe(context.Background(), nil); s.Reason != "NotRunning" || s.Phase != corev1.PodPending {
		t.Fatalf("no sandbox: %+v", s)
	}
	h.sync()
	live := h.sync()
	if !live.Ready {
		t.Fatalf("not ready: %+v", live)
	}
	h.calls()
	w := NewWorker(h.w.cfg, h.w.pod, h.w.objs, "src")
	s := w.Observe(context.Background(), &live)
	if got := h.calls(); strings.Contains(got, "Create") || strings.Contains(got, "Run") || strings.Contains(got, "Stop") {
		t.Fatalf("Observe acted: %s", got)
	}
	if s.Phase != corev1.PodRunning || !s.Ready || s.PodIP != "10.0.0.2" {
		t.Fatalf("observed: %+v", s)
	}
	h.rt.exit("a", 2)
	s = NewWorker(h.w.cfg, h.w.pod, h.w.objs, "src").Observe(context.Background(), &live)
	if s.Ready || s.Containers[0].State != StateTerminated || s.Containers[0].ExitCode != 2 {
		t.Fatalf("after exit: %+v", s.Containers[0])
	}
}

// Statuses returns every supervised pod's status, by namespace and name.
func (s *Supervisor) Statuses() []PodStatus {
	s.mu.Lock()
	out := make([]PodStatus, 0, len(s.runners))
	for _, r := range s.runners {
		out = append(out, r.w.Status())
	}
	s.mu.Unlock()
	SortStatuses(out)
	return out
}
