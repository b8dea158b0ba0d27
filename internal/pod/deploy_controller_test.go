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
