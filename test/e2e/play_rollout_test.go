package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// readyCount counts the ready pods whose names start with prefix, from
// `get pods -o json` (0 and false when it fails).
func (p *player) readyCount(prefix string) (int, bool) {
	b, err := exec.Command(p.bin, "get", "pods", "-A", "-o", "json", "--state-dir", p.state).Output()
	if err != nil {
		return 0, false
	}
	var list struct{ Items []corev1.Pod }
	if json.Unmarshal(b, &list) != nil {
		return 0, false
	}
	n := 0
	for i := range list.Items {
		if st := statusOf(&list.Items[i]); strings.HasPrefix(st.Name, prefix) && st.Ready {
			n++
		}
	}
	return n, true
}

// rolloutEvents is the Deployment's controller events: "+" for a pod
// made, "-" for one removed, in order.
func (p *player) rolloutEvents() string {
	p.t.Helper()
	store := pod.Store{Dir: p.state}
	records, err := store.ListApplied()
	if err != nil || len(records) != 1 || len(records[0].Deployments) != 1 {
		p.t.Fatalf("records: %v %v", records, err)
	}
	st, err := store.LoadDeployment(string(records[0].Deployments[0].UID))
	if err != nil || st == nil {
		p.t.Fatalf("deployment state: %v %v", st, err)
	}
	var b strings.Builder
	for _, e := range st.Events {
		switch e.Reason {
		case "SuccessfulCreate":
			b.WriteString("+")
		case "SuccessfulDelete":
			b.WriteString("-")
		}
	}
	return b.String()
}

// TestPlayDeploymentRollout: playing a Deployment again with a changed
// template rolls it out. RollingUpdate with maxSurge 1 and maxUnavailable
// 0 makes one new pod, removes an old one once the new one is ready, and
// so on: two pods stay ready throughout, and play --wait returns when the
// rollout is done. Recreate removes every old pod before the first new one.
func TestPlayDeploymentRollout(t *testing.T) {
	p := newPlayer(t)
	deployment := func(version, strategy string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata: {name: dlpj-roll, namespace: dlpj}
spec:
  replicas: 2
  strategy: ` + strategy + `
  selector: {matchLabels: {app: roll}}
  template:
    metadata: {labels: {app: roll}}
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
	const rolling = "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}"
	file := p.manifest("roll.yaml", deployment("v1", rolling))
	p.mustRun("play", "--wait", "--timeout", "2m", file)
	v1 := podsOf(p.pods(), "dlpj-roll-")
	if len(v1) != 2 || v1[0].Name[:len("dlpj-roll-")+10] != v1[1].Name[:len("dlpj-roll-")+10] {
		t.Fatalf("first play: %+v", v1)
	}
	if ev := p.rolloutEvents(); ev != "++" {
		t.Fatalf("first play's events: %q", ev)
	}

	// Sample readiness during the rollout.
	var mu sync.Mutex
	least, samples := 2, 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			if n, ok := p.readyCount("dlpj-roll-"); ok {
				mu.Lock()
				least, samples = min(least, n), samples+1
				mu.Unlock()
			}
		}
	})
	p.manifest("roll.yaml", deployment("v2", rolling))
	start := time.Now()
	p.mustRun("play", "--wait", "--timeout", "2m", file)
	took := time.Since(start)
	close(stop)
	wg.Wait()
	t.Logf("rolling update of 2 replicas: play --wait returned after %s; %d samples, at least %d ready", took.Round(time.Millisecond), samples, least)
	if least < 2 {
		t.Fatalf("only %d pods ready at a moment of the rollout (maxUnavailable 0)", least)
	}
	if ev := p.rolloutEvents(); ev != "++"+"+-+-" {
		t.Fatalf("rolling update's events: %q, want a new pod before each old one goes", ev)
	}
	v2 := podsOf(p.pods(), "dlpj-roll-")
	if len(v2) != 2 || !v2[0].Ready || !v2[1].Ready {
		t.Fatalf("after the rollout: %+v", v2)
	}
	for _, old := range v1 {
		for _, cur := range v2 {
			if cur.Name == old.Name {
				t.Fatalf("old pod %s still there", old.Name)
			}
		}
		if left := p.containersOf(old.UID); len(left) != 0 {
			t.Fatalf("old pod %s's containers remain: %v", old.Name, left)
		}
	}
	if out := p.mustRun("exec", "-n", "dlpj", v2[0].Name, "--", "sh", "-c", "echo $VERSION"); strings.TrimSpace(out) != "v2" {
		t.Fatalf("new pod's VERSION: %q", out)
	}
	table := strings.Split(strings.TrimSpace(p.mustRun("get", "deployments", "-n", "dlpj")), "\n")
	if f := strings.Fields(table[len(table)-1]); len(f) < 4 || strings.Join(f[:4], " ") != "dlpj-roll 2/2 2 2" {
		t.Fatalf("get deployments:\n%s", strings.Join(table, "\n"))
	}

	p.manifest("roll.yaml", deployment("v3", "{type: Recreate}"))
	p.mustRun("play", "--wait", "--timeout", "2m", file)
	if ev := p.rolloutEvents(); ev != "++"+"+-+-"+"--++" {
		t.Fatalf("Recreate's events: %q, want every old pod removed before a new one", ev)
	}
}
