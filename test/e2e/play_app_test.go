package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestPlaySkipsKindsPrintsAPIObjects: a file with kinds play does not run
// runs the rest, with one warning each; DaemonSet and StatefulSet give
// their pods; get -o yaml|json print v1 objects, an unknown format is an
// error and nothing is an empty List.
func TestPlaySkipsKindsPrintsAPIObjects(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("app.yaml", `apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: 3}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb}
spec: {minAvailable: 1}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: dltplay-agent, namespace: dltplay}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: `+busyboxImage+`, command: `+idleCmd("")+`}
---
`+statefulSet("dltplay-web", "web", idleCmd("")))
	out := p.mustRun("play", "--wait", "--timeout", "3m", file)
	for _, kind := range []string{"Widget", "PodDisruptionBudget"} {
		if n := strings.Count(out, `kind "`+kind+`" is not run by dockerlet play: skipped`); n != 1 {
			t.Errorf("%s: %d warnings, want 1:\n%s", kind, n, out)
		}
	}

	var list struct {
		APIVersion, Kind string
		Items            []corev1.Pod
	}
	y := p.mustRun("get", "pods", "-n", "dltplay", "-o", "yaml")
	if err := yaml.Unmarshal([]byte(y[strings.Index(y, "apiVersion:"):]), &list); err != nil || list.Kind != "List" {
		t.Fatalf("get -o yaml: %v\n%s", err, y)
	}
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
		if it.Kind != "Pod" || it.APIVersion != "v1" || it.Status.Phase != corev1.PodRunning || it.Status.PodIP == "" ||
			len(it.Status.ContainerStatuses) != 1 || it.Status.ContainerStatuses[0].State.Running == nil || it.Spec.Containers[0].Image != busyboxImage {
			t.Errorf("pod %s as printed: %+v", it.Name, it)
		}
	}
	slices.Sort(names)
	if got := strings.Join(names, " "); got != "dltplay-agent-0 dltplay-web-0 dltplay-web-1" {
		t.Fatalf("pods: %s", got)
	}

	var one corev1.Pod
	j := p.mustRun("get", "pods", "-n", "dltplay", "dltplay-web-1", "-o", "json")
	if err := json.Unmarshal([]byte(j[strings.Index(j, "{"):]), &one); err != nil || one.Kind != "Pod" || one.Name != "dltplay-web-1" {
		t.Fatalf("get pods NAME -o json: %v\n%s", err, j)
	}
	if out, code := p.run("", "get", "pods", "-o", "table"); code == 0 || !strings.Contains(out, `output format "table"`) {
		t.Fatalf("unknown format: exit %d\n%s", code, out)
	}

	p.mustRun("down", file)
	empty := p.mustRun("get", "pods", "-A", "-o", "json")
	if !strings.Contains(empty, `"items": []`) || !strings.Contains(empty, `"kind": "List"`) {
		t.Fatalf("empty result: %s", empty)
	}
}

// TestPlayDownParallelGrace: down sends every pod its stop signal at once
// and waits out each grace period in parallel (containers that ignore
// SIGTERM, 10 s grace: one after the other, the signals would be 10 s
// apart); --force kills without waiting the grace period.
func TestPlayDownParallelGrace(t *testing.T) {
	p := newPlayer(t)
	marks := filepath.Join(p.dir, "marks")
	if err := os.MkdirAll(marks, 0o777); err != nil {
		t.Fatal(err)
	}
	const ignoreTerm = `trap 'date +%s > /marks/$(hostname)' TERM; while :; do sleep 1; done`
	file := p.manifest("three.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: dltplay-slow, namespace: dltplay}
spec:
  replicas: 3
  selector: {matchLabels: {app: slow}}
  template:
    metadata: {labels: {app: slow}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: main
        image: `+busyboxImage+`
        command: [sh, -c, "`+ignoreTerm+`"]
        volumeMounts: [{name: marks, mountPath: /marks}]
      volumes:
      - {name: marks, hostPath: {path: `+marks+`}}
`)
	p.mustRun("play", "--wait", "--timeout", "3m", file)
	p.mustRun("down", file)
	var times []int
	// One mark per pod, named after it (dltplay-slow-<hash>-<random>).
	entries, err := os.ReadDir(marks)
	if err != nil || len(entries) != 3 {
		t.Fatalf("SIGTERM marks: %v %v", entries, err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(marks, e.Name()))
		if err != nil {
			t.Fatalf("pod %s: %v", e.Name(), err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		times = append(times, n)
	}
	if spread := slices.Max(times) - slices.Min(times); spread >= 10 {
		t.Fatalf("SIGTERM times %v: %d s apart, the pods were stopped one after the other", times, spread)
	}

	// --force: a pod ignoring SIGTERM with 10 min of grace goes at once.
	stubborn := p.manifest("stubborn.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-stubborn, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 600
  containers:
  - {name: main, image: `+busyboxImage+`, command: [sh, -c, "trap '' TERM; while :; do sleep 1; done"]}
`)
	p.mustRun("play", "--wait", "--timeout", "3m", stubborn)
	start := time.Now()
	p.mustRun("down", "--force", stubborn)
	if took := time.Since(start); took > 4*time.Minute {
		t.Fatalf("down --force took %s", took)
	}
	if sts := p.pods(); len(sts) != 0 {
		t.Fatalf("pods after down --force: %v", sts)
	}
}

// TestPlayStdinNamed: two plays from stdin are two sources (named after
// their pods, or --name), each removed on its own; --replace takes a
// pod's name over from another source.
func TestPlayStdinNamed(t *testing.T) {
	p := newPlayer(t)
	if out, code := p.run(idlePod("dltplay-in-a", ""), "play", "-d", "-"); code != 0 {
		t.Fatalf("play a: %d\n%s", code, out)
	}
	if out, code := p.run(idlePod("dltplay-in-b", ""), "play", "-d", "--name", "second", "-"); code != 0 {
		t.Fatalf("play b: %d\n%s", code, out)
	}
	sts := p.pods()
	if _, ok := sts["dltplay-in-a"]; !ok {
		t.Fatalf("the second play from stdin removed the first one's pod: %v", sts)
	}
	// The same name from another source is refused, taken with --replace.
	if out, code := p.run(idlePod("dltplay-in-a", ""), "play", "-d", "--name", "third", "-"); code == 0 || !strings.Contains(out, "already exists") {
		t.Fatalf("a clashing pod name: exit %d\n%s", code, out)
	}
	if out, code := p.run(idlePod("dltplay-in-a", ""), "play", "-d", "--replace", "--name", "third", "-"); code != 0 {
		t.Fatalf("play --replace: %d\n%s", code, out)
	}
	if out, code := p.run("", "down", "--name", "second"); code != 0 || !strings.Contains(out, "pod/dltplay-in-b deleted") {
		t.Fatalf("down --name: %d\n%s", code, out)
	}
	if _, ok := p.pods()["dltplay-in-a"]; !ok {
		t.Fatal("down of one stdin play removed the other's pod")
	}
	if out, code := p.run("", "down", "--name", "third"); code != 0 || !strings.Contains(out, "pod/dltplay-in-a deleted") {
		t.Fatalf("down --name third: %d\n%s", code, out)
	}
	// The first play gave its pod to the third: nothing of it is left.
	if out, code := p.run(idlePod("dltplay-in-a", ""), "down", "-"); code == 0 {
		t.Fatalf("down - of a replaced play: %s", out)
	}
}

// TestPlayWaitFailsFast: --wait stops as soon as a pod cannot start, with
// the reason and the engine's message once: an image absent with pull
// policy Never, and a registry that refuses the connection (not reported
// as missing credentials).
func TestPlayWaitFailsFast(t *testing.T) {
	p := newPlayer(t)
	never := p.manifest("never.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-never, namespace: dltplay}
spec:
  containers:
  - {name: main, image: dltplay.invalid/absent:1, imagePullPolicy: Never}
`)
	out, code := p.run("", "play", "--wait", "--timeout", "10m", never)
	if code != 1 || !strings.Contains(out, "pod dltplay-never cannot start: ErrImageNeverPull: container main: container image \"dltplay.invalid/absent:1\" is not present") {
		t.Fatalf("pull policy Never: exit %d\n%s", code, out)
	}
	refused := fmt.Sprintf("127.0.0.1:%d/dltplay/absent:1", freePort(t))
	missing := p.manifest("refused.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-refused, namespace: dltplay}
spec:
  containers:
  - {name: main, image: "`+refused+`"}
`)
	out, code = p.run("", "play", "--wait", "--timeout", "10m", missing)
	last := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	if code != 1 || !strings.Contains(last, "cannot start: ErrImagePull") || !strings.Contains(last, "connection refused") {
		t.Fatalf("refused registry: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "credentials") || strings.Contains(out, "rpc error") || strings.Count(last, refused) != 1 {
		t.Fatalf("the message blames credentials, wraps gRPC or repeats the image:\n%s", last)
	}
}
