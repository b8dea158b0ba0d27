package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPlayStatefulSetOrderedStart: a StatefulSet's ordinal n+1 is made
// only once ordinal n is Running and Ready (OrderedReady, the default):
// each pod here is ready 3 s after it starts, so the starts are at least
// that far apart; with podManagementPolicy Parallel they start together.
func TestPlayStatefulSetOrderedStart(t *testing.T) {
	p := newPlayer(t)
	set := func(name, policy string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: %s, namespace: dlpj}
spec:
  replicas: 3
  podManagementPolicy: %s
  serviceName: %s
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: %s
        command: [sh, -c, "sleep 3; touch /tmp/ready; trap 'exit 0' TERM; while :; do sleep 1; done"]
        readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1, timeoutSeconds: 10, failureThreshold: 5}
`, name, policy, name, name, name, busyboxImage)
	}
	file := p.manifest("sets.yaml", set("dlpj-ord", "OrderedReady")+"---\n"+set("dlpj-par", "Parallel"))
	p.mustRun("play", "--wait", "--timeout", "3m", file)
	pods := p.pods()
	started := func(name string) time.Time {
		st, ok := pods[name]
		if !ok || len(st.Containers) != 1 || st.Containers[0].StartedAt.IsZero() {
			t.Fatalf("pod %s: %+v", name, st)
		}
		return st.Containers[0].StartedAt
	}
	for i := 1; i < 3; i++ {
		prev, cur := started(fmt.Sprintf("dlpj-ord-%d", i-1)), started(fmt.Sprintf("dlpj-ord-%d", i))
		// Times are printed to the second: 2 s is the bar for a 3 s wait.
		if gap := cur.Sub(prev); gap < 2*time.Second {
			t.Errorf("dlpj-ord-%d started %s after dlpj-ord-%d, before that one was ready", i, gap, i-1)
		}
	}
	first, last := started("dlpj-par-0"), started("dlpj-par-2")
	if gap := last.Sub(first).Abs(); gap >= 3*time.Second {
		t.Errorf("Parallel: ordinals started %s apart", gap)
	}
}

// TestPlayStatefulSetRollingUpdate: playing a StatefulSet again with a
// changed template replaces its ordinals one at a time from the highest,
// each once the one above it is Running and Ready again (its
// RollingUpdate): two of three pods stay ready throughout.
func TestPlayStatefulSetRollingUpdate(t *testing.T) {
	p := newPlayer(t)
	set := func(version string) string {
		return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: dlpj-db, namespace: dlpj}
spec:
  replicas: 3
  serviceName: dlpj-db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ` + busyboxImage + `
        env: [{name: VERSION, value: ` + version + `}]
        command: [sh, -c, "sleep 2; touch /tmp/ready; trap 'exit 0' TERM; while :; do sleep 1; done"]
        readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1, timeoutSeconds: 10, failureThreshold: 5}
`
	}
	file := p.manifest("db.yaml", set("v1"))
	p.mustRun("play", "--wait", "--timeout", "3m", file)
	v1 := p.pods()

	var mu sync.Mutex
	least := 3
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			if n, ok := p.readyCount("dlpj-db-"); ok {
				mu.Lock()
				least = min(least, n)
				mu.Unlock()
			}
		}
	})
	p.manifest("db.yaml", set("v2"))
	p.mustRun("play", "--wait", "--timeout", "3m", file)
	close(stop)
	wg.Wait()
	if least < 2 {
		t.Fatalf("%d of 3 pods ready at a moment of the update: more than one ordinal was down", least)
	}
	v2 := p.pods()
	var started [3]time.Time
	for i := range 3 {
		name := fmt.Sprintf("dlpj-db-%d", i)
		st := v2[name]
		if st.UID == v1[name].UID || !st.Ready || len(st.Containers) != 1 {
			t.Fatalf("%s after the update: %+v", name, st)
		}
		if left := p.containersOf(v1[name].UID); len(left) != 0 {
			t.Fatalf("%s's old containers remain: %v", name, left)
		}
		started[i] = st.Containers[0].StartedAt
	}
	// Highest first; times are printed to the second.
	if !started[2].Before(started[1]) || !started[1].Before(started[0]) {
		t.Fatalf("new pods started at %v (ordinals 0, 1, 2): not from the highest down", started)
	}
	if out := p.mustRun("exec", "-n", "dlpj", "dlpj-db-0", "--", "sh", "-c", "echo $VERSION"); strings.TrimSpace(out) != "v2" {
		t.Fatalf("dlpj-db-0's VERSION: %q", out)
	}
}
