package e2e

import (
	"fmt"
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
        readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1}
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
