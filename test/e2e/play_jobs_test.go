package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// jobs returns `dockerlet get jobs -A -o json` by name.
func (p *player) jobs() map[string]batchv1.Job {
	p.t.Helper()
	out := p.mustRun("get", "jobs", "-A", "-o", "json")
	var list struct {
		Kind  string        `json:"kind"`
		Items []batchv1.Job `json:"items"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &list); err != nil || list.Kind != "List" {
		p.t.Fatalf("get jobs -o json: %v\n%s", err, out)
	}
	m := map[string]batchv1.Job{}
	for _, j := range list.Items {
		m[j.Name] = j
	}
	return m
}

// waitUntil polls ok until limit.
func waitUntil(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func jobCondition(j batchv1.Job) (batchv1.JobConditionType, string) {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed {
			return c.Type, c.Reason
		}
	}
	return "", ""
}

// podsOf returns the statuses of the pods whose names start with prefix.
func podsOf(all map[string]pod.PodStatus, prefix string) []pod.PodStatus {
	var out []pod.PodStatus
	for name, st := range all {
		if strings.HasPrefix(name, prefix) {
			out = append(out, st)
		}
	}
	return out
}

// TestPlayJobRetrySucceeds: a Job's first pod fails (it leaves a mark on
// a PersistentVolumeClaim), the Job controller replaces it after its
// back-off with a new pod, which succeeds; the controller's state
// survives the supervisor being killed during the back-off; play --wait
// returns 0 once the Job is Complete; ttlSecondsAfterFinished removes a
// finished Job's pods; down removes every pod the Jobs made.
func TestPlayJobRetrySucceeds(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("job.yaml", `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: dlpj-marks, namespace: dlpj}
spec: {accessModes: [ReadWriteOnce]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: dlpj-retry, namespace: dlpj}
spec:
  backoffLimit: 2
  template:
    metadata: {labels: {app: retry}}
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: `+busyboxImage+`
        command: [sh, -c, "if [ -f /marks/tried ]; then echo second try; exit 0; fi; touch /marks/tried; echo first try; exit 1"]
        volumeMounts: [{name: marks, mountPath: /marks}]
      volumes:
      - {name: marks, persistentVolumeClaim: {claimName: dlpj-marks}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: dlpj-ttl, namespace: dlpj}
spec:
  ttlSecondsAfterFinished: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: `+busyboxImage+`, command: ["true"]}
`)
	out := p.mustRun("play", "-d", file)
	if !strings.Contains(out, "job.batch/dlpj-retry created") {
		t.Fatalf("play -d: %s", out)
	}
	waitUntil(t, 90*time.Second, "the first pod to fail", func() bool { return p.jobs()["dlpj-retry"].Status.Failed == 1 })
	// Killed during the back-off: the next supervisor goes on from the
	// recorded state (no second failure, no pod made twice).
	p.killDaemon()
	waitFor(t, "the supervisor to exit", func() bool { return !lockHeld(p) })
	start := time.Now()
	out = p.mustRun("play", "--wait", "--timeout", "2m", file)
	if !strings.Contains(out, "2 jobs complete") {
		t.Fatalf("play --wait: %s", out)
	}
	j := p.jobs()["dlpj-retry"]
	if c, r := jobCondition(j); c != batchv1.JobComplete || r != "CompletionsReached" || j.Status.Succeeded != 1 || j.Status.Failed != 1 || j.Status.Active != 0 {
		t.Fatalf("job status: %+v", j.Status)
	}
	if j.Status.CompletionTime.Sub(j.Status.StartTime.Time) < pod.JobBackoffInitial {
		t.Fatalf("the retry did not wait out the back-off: started %s, completed %s", j.Status.StartTime, j.Status.CompletionTime)
	}
	t.Logf("play --wait after the supervisor restart returned in %s", time.Since(start).Round(time.Millisecond))
	retry := podsOf(p.pods(), "dlpj-retry-")
	if len(retry) != 2 {
		t.Fatalf("%d pods of the Job, want 2: %+v", len(retry), retry)
	}
	var phases []string
	for _, st := range retry {
		phases = append(phases, string(st.Phase))
		if len(st.Name) != len("dlpj-retry-")+5 {
			t.Errorf("pod name %q: want <job>-<5 random characters>", st.Name)
		}
		want := map[corev1.PodPhase]string{corev1.PodFailed: "first try", corev1.PodSucceeded: "second try"}[st.Phase]
		if logs := p.mustRun("logs", "-n", "dlpj", st.Name); !strings.Contains(logs, want) {
			t.Errorf("pod %s (%s) logs %q, want %q", st.Name, st.Phase, logs, want)
		}
	}
	if strings.Join(phases, " ") != "Failed Succeeded" && strings.Join(phases, " ") != "Succeeded Failed" {
		t.Fatalf("phases: %v", phases)
	}
	table := p.mustRun("get", "jobs", "-n", "dlpj")
	if !strings.Contains(table, "dlpj-retry") || !strings.Contains(table, "Complete") || !strings.Contains(table, "1/1") {
		t.Fatalf("get jobs:\n%s", table)
	}
	desc := p.mustRun("describe", "job", "-n", "dlpj", "dlpj-retry")
	if !strings.Contains(desc, "0 Active / 1 Succeeded / 1 Failed") || !strings.Contains(desc, "SuccessfulCreate") {
		t.Fatalf("describe job:\n%s", desc)
	}

	// The TTL Job's pod goes 2 s after the Job finished; the Job stays Complete.
	waitUntil(t, 30*time.Second, "the TTL Job's pods to be removed", func() bool { return len(podsOf(p.pods(), "dlpj-ttl-")) == 0 })
	if c, _ := jobCondition(p.jobs()["dlpj-ttl"]); c != batchv1.JobComplete {
		t.Fatalf("TTL job: %+v", p.jobs()["dlpj-ttl"].Status)
	}

	p.mustRun("down", file)
	for _, st := range retry {
		if left := p.containersOf(st.UID); len(left) != 0 {
			t.Fatalf("down left containers of %s: %v", st.Name, left)
		}
	}
	if jobs := p.jobs(); len(jobs) != 0 {
		t.Fatalf("jobs after down: %v", jobs)
	}
}

// TestPlayJobFails: a Job whose pods always fail is Failed once its
// failures pass backoffLimit, and play --wait says so at once; an
// OnFailure Job's restarts in place count toward the limit; a Job past
// activeDeadlineSeconds is Failed with DeadlineExceeded and its running
// pod removed.
func TestPlayJobFails(t *testing.T) {
	p := newPlayer(t)
	doomed := p.manifest("doomed.yaml", `apiVersion: batch/v1
kind: Job
metadata: {name: dlpj-doomed, namespace: dlpj}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: `+busyboxImage+`, command: [sh, -c, "exit 2"]}
`)
	start := time.Now()
	out, code := p.run("", "play", "--wait", "--timeout", "2m", doomed)
	if code != 1 || !strings.Contains(out, "job dlpj-doomed failed: BackoffLimitExceeded") {
		t.Fatalf("play --wait: exit %d\n%s", code, out)
	}
	t.Logf("play --wait of a failing Job (backoffLimit 1) failed after %s", time.Since(start).Round(time.Millisecond))
	if j := p.jobs()["dlpj-doomed"]; j.Status.Failed != 2 || j.Status.Succeeded != 0 {
		t.Fatalf("doomed job: %+v", j.Status)
	}
	if n := len(podsOf(p.pods(), "dlpj-doomed-")); n != 2 {
		t.Fatalf("%d failed pods kept, want 2", n)
	}

	others := p.manifest("others.yaml", `apiVersion: batch/v1
kind: Job
metadata: {name: dlpj-onfail, namespace: dlpj}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - {name: main, image: `+busyboxImage+`, command: [sh, -c, "exit 3"]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: dlpj-deadline, namespace: dlpj}
spec:
  activeDeadlineSeconds: 4
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: `+busyboxImage+`, command: [sh, -c, "trap 'exit 0' TERM; while :; do sleep 1; done"]}
`)
	p.mustRun("play", "-d", others)
	waitUntil(t, 90*time.Second, "both Jobs to fail", func() bool {
		jobs := p.jobs()
		a, _ := jobCondition(jobs["dlpj-onfail"])
		b, _ := jobCondition(jobs["dlpj-deadline"])
		return a == batchv1.JobFailed && b == batchv1.JobFailed
	})
	jobs := p.jobs()
	if _, r := jobCondition(jobs["dlpj-onfail"]); r != "BackoffLimitExceeded" {
		t.Fatalf("OnFailure job: %+v", jobs["dlpj-onfail"].Status)
	}
	if _, r := jobCondition(jobs["dlpj-deadline"]); r != "DeadlineExceeded" || jobs["dlpj-deadline"].Status.Failed != 1 {
		t.Fatalf("deadline job: %+v", jobs["dlpj-deadline"].Status)
	}
	// A failed Job's active pods are removed, as the Job controller
	// deletes them.
	waitUntil(t, 30*time.Second, "the failed Jobs' pods to be removed", func() bool {
		all := p.pods()
		return len(podsOf(all, "dlpj-onfail-"))+len(podsOf(all, "dlpj-deadline-")) == 0
	})
	desc := p.mustRun("describe", "job", "-n", "dlpj", "dlpj-deadline")
	if !strings.Contains(desc, "Job was active longer than specified deadline") {
		t.Fatalf("describe job:\n%s", desc)
	}
}

// TestPlayIndexedJob: completionMode Indexed gives each completion index
// its pod (<job>-<index>-<random>, hostname <job>-<index>,
// JOB_COMPLETION_INDEX in the environment); the index whose first pod
// fails is retried, and the Job completes once every index succeeded.
func TestPlayIndexedJob(t *testing.T) {
	p := newPlayer(t)
	const work = `if [ $JOB_COMPLETION_INDEX = 1 ] && [ ! -f /out/tried ]; then touch /out/tried; exit 1; fi; hostname > /out/$JOB_COMPLETION_INDEX`
	file := p.manifest("indexed.yaml", `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: dlpj-out, namespace: dlpj}
spec: {accessModes: [ReadWriteOnce]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: dlpj-idx, namespace: dlpj}
spec:
  completionMode: Indexed
  completions: 3
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: `+busyboxImage+`
        command: [sh, -c, "`+work+`"]
        volumeMounts: [{name: out, mountPath: /out}]
      volumes:
      - {name: out, persistentVolumeClaim: {claimName: dlpj-out}}
`)
	p.mustRun("play", "--wait", "--timeout", "2m", file)
	j := p.jobs()["dlpj-idx"]
	if c, _ := jobCondition(j); c != batchv1.JobComplete || j.Status.CompletedIndexes != "0-2" || j.Status.Succeeded != 3 || j.Status.Failed != 1 {
		t.Fatalf("job status: %+v", j.Status)
	}
	for i := range 3 {
		b, err := os.ReadFile(filepath.Join(p.state, "claims", "dlpj", "dlpj-out", strconv.Itoa(i)))
		if want := fmt.Sprintf("dlpj-idx-%d", i); err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("index %d wrote %q (%v), want its hostname %s", i, b, err, want)
		}
	}
	if n := len(podsOf(p.pods(), "dlpj-idx-1-")); n != 2 {
		t.Fatalf("index 1 had %d pods, want 2 (the failed one and its retry)", n)
	}
}

// TestPlayJobSuspend: a Job played suspended makes no pod (play --wait
// has nothing to wait for); played again with suspend: false, the same
// Job runs and completes.
func TestPlayJobSuspend(t *testing.T) {
	p := newPlayer(t)
	job := func(suspend string) string {
		return `apiVersion: batch/v1
kind: Job
metadata: {name: dlpj-later, namespace: dlpj}
spec:
  suspend: ` + suspend + `
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: ` + busyboxImage + `, command: [sh, -c, "echo ran"]}
`
	}
	file := p.manifest("later.yaml", job("true"))
	p.mustRun("play", "--wait", "--timeout", "1m", file)
	waitUntil(t, 30*time.Second, "the Job to be Suspended", func() bool {
		for _, c := range p.jobs()["dlpj-later"].Status.Conditions {
			if c.Type == batchv1.JobSuspended {
				return true
			}
		}
		return false
	})
	if n := len(podsOf(p.pods(), "dlpj-later-")); n != 0 {
		t.Fatalf("a suspended Job made %d pods", n)
	}
	uid := p.jobs()["dlpj-later"].UID
	p.manifest("later.yaml", job("false"))
	p.mustRun("play", "--wait", "--timeout", "1m", file)
	j := p.jobs()["dlpj-later"]
	if c, _ := jobCondition(j); c != batchv1.JobComplete || j.UID != uid || j.Status.Succeeded != 1 {
		t.Fatalf("resumed Job: uid %s (was %s), %+v", j.UID, uid, j.Status)
	}
	if table := p.mustRun("get", "jobs", "-n", "dlpj"); !strings.Contains(table, "Complete") {
		t.Fatalf("get jobs:\n%s", table)
	}
}
