package pod

import (
	"context"
	"strings"
	"testing"
	"time"
)

const rollDoc = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "i:1"}]
`

// TestSupervisorRollsDeploymentOut: a re-play with a changed template
// replaces the pods one at a time (2 replicas: surge 1, unavailable 0),
// never with fewer than 2 ready, and ends with 2 pods of the new template.
func TestSupervisorRollsDeploymentOut(t *testing.T) {
	m, err := Parse("/d.yaml", strings.NewReader(rollDoc))
	if err != nil {
		t.Fatal(err)
	}
	store := Store{Dir: t.TempDir()}
	a := NewApplied(m, nil, time.Now())
	if err := store.SaveApplied(a); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	rt := newFakeRuntime(clock)
	rt.images["i:1"], rt.images["i:2"] = true, true
	cfg := Config{Runtime: rt, StateDir: store.Dir, Clock: clock, Handler: &fakeHandler{probes: map[string]bool{}}, SyncPeriod: 5 * time.Millisecond}
	sup := NewSupervisor(cfg, store, nil)
	sup.ReloadPeriod = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { _ = sup.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	uid := string(a.Deployments[0].UID)
	ready := func(prefix string) (n int) {
		for _, st := range sup.Statuses() {
			if st.Ready && strings.HasPrefix(st.Name, prefix) {
				n++
			}
		}
		return n
	}
	waitFor(t, "2 ready pods", func() bool { return ready("web-") == 2 })
	st, _ := store.LoadDeployment(uid)
	oldHash := st.Hash
	if len(st.Pods) != 2 || !strings.HasPrefix(st.Pods[0].Pod.Name, "web-"+oldHash+"-") || st.Pods[0].Pod.Labels["pod-template-hash"] != oldHash {
		t.Fatalf("pods: %+v", st.Pods)
	}

	m2, _ := Parse("/d.yaml", strings.NewReader(strings.Replace(rollDoc, "i:1", "i:2", 1)))
	a2 := NewApplied(m2, a, time.Now())
	if a2.Deployments[0].UID != a.Deployments[0].UID {
		t.Fatal("the re-played Deployment got a new uid")
	}
	if err := store.SaveApplied(a2); err != nil {
		t.Fatal(err)
	}
	newHash := TemplateHash(&a2.Deployments[0].Spec.Template)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n := ready("web-"); n < 2 {
			t.Fatalf("%d ready pods during the rollout", n)
		}
		if ready("web-"+newHash) == 2 && len(sup.Statuses()) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollout did not finish: %+v", sup.Statuses())
		}
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "the old pods' teardown", func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return len(rt.sandboxes) == 2
	})
}

// TestDeploymentWaitsForObservedPods: a Deployment controller does not
// plan while one of its pods has no observed status yet (a supervisor
// that just started): a ready old pod would be taken for a failing one
// and removed.
func TestDeploymentWaitsForObservedPods(t *testing.T) {
	doc := strings.Replace(rollDoc, "  replicas: 2\n", "  replicas: 2\n  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}\n", 1)
	m, err := Parse("/d.yaml", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	store := Store{Dir: t.TempDir()}
	a := NewApplied(m, nil, time.Now())
	if err := store.SaveApplied(a); err != nil {
		t.Fatal(err)
	}
	rt := newFakeRuntime(newFakeClock())
	sup := NewSupervisor(Config{Runtime: rt, StateDir: store.Dir}, store, nil)
	c := newDeploymentController(sup, a.Deployments[0], a)
	done := make(chan struct{})
	close(done)
	for range 2 {
		p := newDeploymentPod(a.Deployments[0], "oldhash", time.Now())
		c.state.Pods = append(c.state.Pods, DeploymentPod{Pod: p, Hash: "oldhash"})
		sup.runners[string(p.UID)] = &runner{w: NewWorker(sup.cfg, p, a.Objects(), a.SourceID), cancel: func() {}, done: done}
	}
	c.sync(context.Background())
	if len(c.state.Pods) != 2 || len(c.state.Removing) != 0 {
		t.Fatalf("planned on pods not observed yet: %d pods, %d removing", len(c.state.Pods), len(c.state.Removing))
	}
}

// TestDeploymentRolloutAcrossRestart: a rollout stopped half-way (the
// supervisor gone) goes on from the recorded state with the next
// supervisor: the pods it made are adopted, not made again.
func TestDeploymentRolloutAcrossRestart(t *testing.T) {
	doc := strings.Replace(rollDoc, `[{name: c, image: "i:1"}]`, `[{name: c, image: "i:1", readinessProbe: {exec: {command: ["ready"]}, periodSeconds: 1}}]`, 1)
	m, err := Parse("/d.yaml", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	store := Store{Dir: t.TempDir()}
	a := NewApplied(m, nil, time.Now())
	if err := store.SaveApplied(a); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	rt := newFakeRuntime(clock)
	rt.images["i:1"], rt.images["i:2"] = true, true
	h := &fakeHandler{probes: map[string]bool{}}
	cfg := Config{Runtime: rt, StateDir: store.Dir, Clock: clock, Handler: h, SyncPeriod: 5 * time.Millisecond}
	start := func() func() {
		sup := NewSupervisor(cfg, store, nil)
		sup.ReloadPeriod = 5 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = sup.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}
	uid := string(a.Deployments[0].UID)
	state := func() *DeploymentState {
		st, _ := store.LoadDeployment(uid)
		if st == nil {
			return &DeploymentState{}
		}
		return st
	}
	stop := start()
	waitFor(t, "2 pods", func() bool { return len(state().Pods) == 2 })
	clock.Advance(2 * time.Second)
	waitFor(t, "the first pods ready", func() bool {
		st, ok := store.ReadStatus(string(state().Pods[1].Pod.UID))
		return ok && st.Ready
	})
	// The new template's pods never get ready: the rollout stops at its
	// surge pod.
	h.set("c/exec", false)
	m2, _ := Parse("/d.yaml", strings.NewReader(strings.Replace(doc, "i:1", "i:2", 1)))
	a2 := NewApplied(m2, a, time.Now())
	if err := store.SaveApplied(a2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the surge pod", func() bool { return len(state().Pods) == 3 })
	stop()
	made := state().Pods[2].Pod.UID

	stop = start()
	defer stop()
	time.Sleep(100 * time.Millisecond)
	if st := state(); len(st.Pods) != 3 || st.Pods[2].Pod.UID != made || len(st.Removing) != 0 {
		t.Fatalf("after the restart: %d pods (surge pod %s), %d removing", len(st.Pods), st.Pods[2].Pod.UID, len(st.Removing))
	}
	h.set("c/exec", true)
	clock.Advance(2 * time.Second)
	newHash := TemplateHash(&a2.Deployments[0].Spec.Template)
	waitFor(t, "the rollout to finish", func() bool {
		st := state()
		return len(st.Pods) == 2 && st.Pods[0].Hash == newHash && st.Pods[1].Hash == newHash && len(st.Removing) == 0
	})
}
