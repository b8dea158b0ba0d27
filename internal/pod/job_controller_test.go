package pod

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

const retryJob = `apiVersion: batch/v1
kind: Job
metadata: {name: work}
spec:
  backoffLimit: 2
  template:
    metadata: {labels: {app: work}}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "i:1"}]
`

// TestSupervisorRunsJobAcrossRestart: a Job's failed pod is replaced after
// the back-off, by a new supervisor too (the state is recorded), and the
// Job completes on the retry; down removes its pods and its state.
func TestSupervisorRunsJobAcrossRestart(t *testing.T) {
	m, err := Parse("/job.yaml", strings.NewReader(retryJob))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pods) != 0 || len(m.Jobs) != 1 {
		t.Fatalf("pods %d jobs %d", len(m.Pods), len(m.Jobs))
	}
	store := Store{Dir: t.TempDir()}
	a := NewApplied(m, nil, time.Now())
	if err := store.SaveApplied(a); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	rt := newFakeRuntime(clock)
	rt.images["i:1"] = true
	rt.exitOnStart["c"] = 1
	cfg := Config{Runtime: rt, StateDir: store.Dir, Clock: clock, Handler: &fakeHandler{probes: map[string]bool{}}, SyncPeriod: 5 * time.Millisecond}
	start := func() func() {
		sup := NewSupervisor(cfg, store, nil)
		sup.ReloadPeriod = 5 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = sup.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}
	uid := string(a.Jobs[0].UID)
	job := func() *JobState {
		st, err := store.LoadJob(uid)
		if err != nil {
			t.Fatal(err)
		}
		if st == nil {
			return &JobState{}
		}
		return st
	}
	stop := start()
	waitFor(t, "the first pod to fail", func() bool { return job().Failed == 1 })
	stop()
	first := job().Pods[0].Pod
	if !strings.HasPrefix(first.Name, "work-") || len(first.Name) != len("work-")+5 ||
		first.Labels["job-name"] != "work" || first.Labels["batch.kubernetes.io/controller-uid"] != uid || first.Labels["app"] != "work" {
		t.Fatalf("the Job's pod: %s %v", first.Name, first.Labels)
	}

	// A new supervisor goes on from the record: the back-off still holds.
	stop = start()
	time.Sleep(50 * time.Millisecond)
	if st := job(); len(st.Pods) != 1 || st.Failed != 1 || st.Finished() != nil {
		t.Fatalf("during the back-off: %+v", st)
	}
	rt.mu.Lock()
	rt.exitOnStart["c"] = 0
	rt.mu.Unlock()
	clock.Advance(JobBackoffInitial + time.Second)
	waitFor(t, "the Job to complete", func() bool { return job().Finished() != nil })
	stop()
	st := job()
	if c := st.Finished(); c.Type != batchv1.JobComplete || st.Succeeded != 1 || st.Failed != 1 || len(st.Pods) != 2 || st.Active != 0 {
		t.Fatalf("finished: %+v", st)
	}
	if st.Pods[0].Counted != corev1.PodFailed || st.Pods[1].Counted != corev1.PodSucceeded {
		t.Fatalf("pods: %+v", st.Pods)
	}
	if n := len(store.PodsOf(a)); n != 2 {
		t.Fatalf("PodsOf: %d pods", n)
	}

	if err := Down(context.Background(), cfg, store, a.SourceID, DownOptions{}); err != nil {
		t.Fatal(err)
	}
	rt.mu.Lock()
	left := len(rt.sandboxes) + len(rt.containers)
	rt.mu.Unlock()
	if left != 0 {
		t.Fatalf("down left %d objects", left)
	}
	if st, _ := store.LoadJob(uid); st != nil {
		t.Fatal("down left the Job's state")
	}
}

// TestSupervisorJobDeadlineRemovesPods: a Job past activeDeadlineSeconds
// is Failed and its running pod torn down.
func TestSupervisorJobDeadlineRemovesPods(t *testing.T) {
	doc := strings.Replace(retryJob, "  backoffLimit: 2\n", "  activeDeadlineSeconds: 30\n", 1)
	m, err := Parse("/job.yaml", strings.NewReader(doc))
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
	rt.images["i:1"] = true
	cfg := Config{Runtime: rt, StateDir: store.Dir, Clock: clock, Handler: &fakeHandler{probes: map[string]bool{}}, SyncPeriod: 5 * time.Millisecond}
	sup := NewSupervisor(cfg, store, nil)
	sup.ReloadPeriod = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = sup.Run(ctx) }()
	uid := string(a.Jobs[0].UID)
	running := func() int {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		n := 0
		for _, c := range rt.containers {
			if c.State == 1 { // CONTAINER_RUNNING
				n++
			}
		}
		return n
	}
	waitFor(t, "the Job's pod to run", func() bool { return running() == 1 })
	clock.Advance(31 * time.Second)
	waitFor(t, "the Job to fail", func() bool {
		st, _ := store.LoadJob(uid)
		return st != nil && st.Finished() != nil && len(st.Removing) == 0
	})
	st, _ := store.LoadJob(uid)
	if c := st.Finished(); c.Reason != "DeadlineExceeded" || st.Failed != 1 || len(st.Pods) != 0 {
		t.Fatalf("%+v", st)
	}
	rt.mu.Lock()
	left := len(rt.sandboxes)
	rt.mu.Unlock()
	if left != 0 || running() != 0 {
		t.Fatalf("the pod was not torn down: %d sandboxes", left)
	}
}

// TestKeepJobsAcrossSuspend: a Job played again suspended (or resumed)
// is the same Job; any other change makes a new one.
func TestKeepJobsAcrossSuspend(t *testing.T) {
	m1, _ := Parse("/j.yaml", strings.NewReader(retryJob))
	a1 := NewApplied(m1, nil, time.Now())
	m2, _ := Parse("/j.yaml", strings.NewReader(strings.Replace(retryJob, "  backoffLimit: 2\n", "  backoffLimit: 2\n  suspend: true\n", 1)))
	a2 := NewApplied(m2, a1, time.Now())
	if a2.Jobs[0].UID != a1.Jobs[0].UID || !*a2.Jobs[0].Spec.Suspend {
		t.Fatal("suspending made a new Job")
	}
	m3, _ := Parse("/j.yaml", strings.NewReader(strings.Replace(retryJob, "backoffLimit: 2", "backoffLimit: 3", 1)))
	if a3 := NewApplied(m3, a2, time.Now()); a3.Jobs[0].UID == a1.Jobs[0].UID {
		t.Fatal("a changed Job kept its uid")
	}
}
