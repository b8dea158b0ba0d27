package pod

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func testJob(rp corev1.RestartPolicy, mod func(*batchv1.JobSpec)) *batchv1.Job {
	j := &batchv1.Job{}
	j.Name, j.Namespace, j.UID = "work", "default", "job-uid"
	j.Spec.Template.Spec.RestartPolicy = rp
	j.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "i:1"}}
	if mod != nil {
		mod(&j.Spec)
	}
	return j
}

// jobPods makes a state's pods p0, p1, ...; counted gives each pod's
// recorded end ("" while it runs).
func jobPods(counted ...corev1.PodPhase) []JobPod {
	var out []JobPod
	for i, c := range counted {
		p := &corev1.Pod{}
		p.Name, p.UID = "p"+itoa(i), types.UID("p"+itoa(i))
		out = append(out, JobPod{Pod: p, Counted: c})
	}
	return out
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ended(phase corev1.PodPhase, at time.Time) jobPodView {
	return jobPodView{phase: phase, terminal: true, finished: at}
}

func TestPlanJob(t *testing.T) {
	running := jobPodView{phase: corev1.PodRunning}
	type want struct {
		create                   int
		requeue                  time.Duration
		active, succeeded, fails int32
		cond                     batchv1.JobConditionType
		reason                   string
		pods, removing           int
	}
	for _, tc := range []struct {
		name  string
		job   *batchv1.Job
		st    JobState
		views map[string]jobPodView
		now   time.Time
		want  want
	}{
		{name: "first sync makes one pod by default", job: testJob(corev1.RestartPolicyNever, nil), now: t0,
			want: want{create: 1}},
		{name: "parallelism capped by completions",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.Parallelism, s.Completions = ptr.To[int32](5), ptr.To[int32](3) }),
			now: t0, want: want{create: 3}},
		{name: "running pods are active, nothing more to make",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.Parallelism, s.Completions = ptr.To[int32](2), ptr.To[int32](4) }),
			st:  JobState{StartTime: t0, Pods: jobPods("", "")}, views: map[string]jobPodView{"p0": running}, now: t0.Add(time.Second),
			want: want{active: 2, pods: 2}},
		{name: "a failure waits 10 s for its replacement",
			job: testJob(corev1.RestartPolicyNever, nil),
			st:  JobState{StartTime: t0, Pods: jobPods("")}, views: map[string]jobPodView{"p0": ended(corev1.PodFailed, t0.Add(2*time.Second))},
			now:  t0.Add(3 * time.Second),
			want: want{fails: 1, requeue: 9 * time.Second, pods: 1}},
		{name: "the replacement once the back-off passed",
			job: testJob(corev1.RestartPolicyNever, nil),
			st:  JobState{StartTime: t0, Pods: jobPods(corev1.PodFailed), Failed: 1, FailuresAfterLastSuccess: 1, LastFailure: t0},
			now: t0.Add(10 * time.Second), want: want{fails: 1, create: 1, pods: 1}},
		{name: "the back-off doubles with each failure",
			job: testJob(corev1.RestartPolicyNever, nil),
			st:  JobState{StartTime: t0, Pods: jobPods(corev1.PodFailed, corev1.PodFailed, corev1.PodFailed), Failed: 3, FailuresAfterLastSuccess: 3, LastFailure: t0},
			now: t0.Add(39 * time.Second), want: want{fails: 3, requeue: time.Second, pods: 3}},
		{name: "the back-off is capped at 6 minutes",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.BackoffLimit = ptr.To[int32](100) }),
			st:  JobState{StartTime: t0, Failed: 20, FailuresAfterLastSuccess: 20, LastFailure: t0},
			now: t0.Add(6 * time.Minute), want: want{fails: 20, create: 1}},
		{name: "a success resets the back-off",
			job:   testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.Parallelism, s.Completions = ptr.To[int32](1), ptr.To[int32](3) }),
			st:    JobState{StartTime: t0, Pods: jobPods(corev1.PodFailed, ""), Failed: 1, FailuresAfterLastSuccess: 1, LastFailure: t0},
			views: map[string]jobPodView{"p1": ended(corev1.PodSucceeded, t0.Add(12*time.Second))},
			now:   t0.Add(13 * time.Second), want: want{fails: 1, succeeded: 1, create: 1, pods: 2}},
		{name: "failures beyond backoffLimit fail the Job",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) {
				s.BackoffLimit, s.Parallelism, s.Completions = ptr.To[int32](1), ptr.To[int32](2), ptr.To[int32](2)
			}),
			st:    JobState{StartTime: t0, Pods: jobPods(corev1.PodFailed, "", ""), Failed: 1, FailuresAfterLastSuccess: 1, LastFailure: t0},
			views: map[string]jobPodView{"p1": ended(corev1.PodFailed, t0.Add(20*time.Second)), "p2": running},
			now:   t0.Add(21 * time.Second),
			// The running pod is removed and counted failed too.
			want: want{fails: 3, cond: batchv1.JobFailed, reason: "BackoffLimitExceeded", pods: 2, removing: 1}},
		{name: "backoffLimit failures exactly still retry",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.BackoffLimit = ptr.To[int32](1) }),
			st:  JobState{StartTime: t0, Pods: jobPods("")}, views: map[string]jobPodView{"p0": ended(corev1.PodFailed, t0)},
			now: t0.Add(10 * time.Second), want: want{fails: 1, create: 1, pods: 1}},
		{name: "OnFailure: restarts in place count toward the limit",
			job: testJob(corev1.RestartPolicyOnFailure, func(s *batchv1.JobSpec) { s.BackoffLimit = ptr.To[int32](3) }),
			st:  JobState{StartTime: t0, Pods: jobPods("")}, views: map[string]jobPodView{"p0": {phase: corev1.PodRunning, restarts: 3}},
			now:  t0.Add(time.Minute),
			want: want{fails: 1, cond: batchv1.JobFailed, reason: "BackoffLimitExceeded", removing: 1}},
		{name: "OnFailure: fewer restarts than the limit go on",
			job: testJob(corev1.RestartPolicyOnFailure, func(s *batchv1.JobSpec) { s.BackoffLimit = ptr.To[int32](3) }),
			st:  JobState{StartTime: t0, Pods: jobPods("")}, views: map[string]jobPodView{"p0": {phase: corev1.PodRunning, restarts: 2}},
			now: t0.Add(time.Minute), want: want{active: 1, pods: 1}},
		{name: "OnFailure with backoffLimit 0: one restart fails it",
			job: testJob(corev1.RestartPolicyOnFailure, func(s *batchv1.JobSpec) { s.BackoffLimit = ptr.To[int32](0) }),
			st:  JobState{StartTime: t0, Pods: jobPods("")}, views: map[string]jobPodView{"p0": {phase: corev1.PodRunning, restarts: 1}},
			now:  t0.Add(time.Minute),
			want: want{fails: 1, cond: batchv1.JobFailed, reason: "BackoffLimitExceeded", removing: 1}},
		{name: "activeDeadlineSeconds fails the Job and stops its pods",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.ActiveDeadlineSeconds = ptr.To[int64](30) }),
			st:  JobState{StartTime: t0, Pods: jobPods("")}, views: map[string]jobPodView{"p0": running},
			now:  t0.Add(30 * time.Second),
			want: want{fails: 1, cond: batchv1.JobFailed, reason: "DeadlineExceeded", removing: 1}},
		{name: "before the deadline: requeued for it",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.ActiveDeadlineSeconds = ptr.To[int64](30) }),
			st:  JobState{StartTime: t0, Pods: jobPods("")}, views: map[string]jobPodView{"p0": running},
			now: t0.Add(20 * time.Second), want: want{active: 1, pods: 1, requeue: 10 * time.Second}},
		{name: "completions reached: Complete",
			job:   testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.Completions, s.Parallelism = ptr.To[int32](2), ptr.To[int32](2) }),
			st:    JobState{StartTime: t0, Pods: jobPods(corev1.PodSucceeded, ""), Succeeded: 1},
			views: map[string]jobPodView{"p1": ended(corev1.PodSucceeded, t0.Add(5*time.Second))},
			now:   t0.Add(6 * time.Second), want: want{succeeded: 2, cond: batchv1.JobComplete, reason: "CompletionsReached", pods: 2}},
		{name: "work queue: after a success no new pods, Complete when the rest end",
			job:   testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.Parallelism = ptr.To[int32](2) }),
			st:    JobState{StartTime: t0, Pods: jobPods("", "")},
			views: map[string]jobPodView{"p0": ended(corev1.PodSucceeded, t0), "p1": running},
			now:   t0.Add(time.Second), want: want{succeeded: 1, active: 1, pods: 2}},
		{name: "work queue: the last one ended",
			job:   testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.Parallelism = ptr.To[int32](2) }),
			st:    JobState{StartTime: t0, Pods: jobPods(corev1.PodSucceeded, ""), Succeeded: 1},
			views: map[string]jobPodView{"p1": ended(corev1.PodSucceeded, t0)},
			now:   t0.Add(time.Second), want: want{succeeded: 2, cond: batchv1.JobComplete, reason: "CompletionsReached", pods: 2}},
		{name: "a counted pod is not counted again",
			job:   testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.Completions = ptr.To[int32](3) }),
			st:    JobState{StartTime: t0, Pods: jobPods(corev1.PodSucceeded, ""), Succeeded: 1},
			views: map[string]jobPodView{"p0": ended(corev1.PodSucceeded, t0), "p1": running},
			now:   t0.Add(time.Second), want: want{succeeded: 1, active: 1, pods: 2}},
		{name: "ttlSecondsAfterFinished: waits, then removes the pods",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.TTLSecondsAfterFinished = ptr.To[int32](60) }),
			st: JobState{StartTime: t0, Pods: jobPods(corev1.PodSucceeded), Succeeded: 1,
				Conditions: []JobCondition{{Type: batchv1.JobComplete, Reason: "CompletionsReached", Time: t0}}},
			now: t0.Add(59 * time.Second), want: want{succeeded: 1, cond: batchv1.JobComplete, reason: "CompletionsReached", pods: 1, requeue: time.Second}},
		{name: "ttlSecondsAfterFinished passed",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.TTLSecondsAfterFinished = ptr.To[int32](60) }),
			st: JobState{StartTime: t0, Pods: jobPods(corev1.PodSucceeded), Succeeded: 1,
				Conditions: []JobCondition{{Type: batchv1.JobComplete, Reason: "CompletionsReached", Time: t0}}},
			now: t0.Add(60 * time.Second), want: want{succeeded: 1, cond: batchv1.JobComplete, reason: "CompletionsReached", removing: 1}},
		{name: "ttlSecondsAfterFinished 0 removes at once",
			job: testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) { s.TTLSecondsAfterFinished = ptr.To[int32](0) }),
			st:  JobState{StartTime: t0, Pods: jobPods("")}, views: map[string]jobPodView{"p0": ended(corev1.PodSucceeded, t0)},
			now: t0.Add(time.Second), want: want{succeeded: 1, cond: batchv1.JobComplete, reason: "CompletionsReached", removing: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tc.st.Pods)
			st, act := planJob(tc.job, tc.st, tc.views, tc.now)
			got := want{create: act.create, requeue: act.requeue, active: st.Active, succeeded: st.Succeeded, fails: st.Failed,
				pods: len(st.Pods), removing: len(st.Removing)}
			if c := st.Finished(); c != nil {
				got.cond, got.reason = c.Type, c.Reason
			}
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			if len(tc.st.Pods) != before {
				t.Fatal("the plan changed its input")
			}
			if st.StartTime.IsZero() {
				t.Fatal("no start time")
			}
		})
	}
}

// A Job finished stays finished: a later plan makes nothing.
func TestPlanJobFinishedStays(t *testing.T) {
	job := testJob(corev1.RestartPolicyNever, nil)
	st := JobState{StartTime: t0, Failed: 7, Conditions: []JobCondition{{Type: batchv1.JobFailed, Reason: "BackoffLimitExceeded", Time: t0}}}
	next, act := planJob(job, st, nil, t0.Add(time.Hour))
	if act.create != 0 || len(next.Conditions) != 1 || next.Failed != 7 {
		t.Fatalf("%+v %+v", act, next)
	}
}

func TestJobBackoffLeft(t *testing.T) {
	for n, want := range map[int32]time.Duration{0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second,
		6: 320 * time.Second, 7: 6 * time.Minute, 30: 6 * time.Minute} {
		if got := jobBackoffLeft(JobState{FailuresAfterLastSuccess: n, LastFailure: t0}, t0); got != want {
			t.Errorf("%d failures: %s, want %s", n, got, want)
		}
	}
}

// TestPlanIndexedJob: each completion index gets a pod, the lowest first;
// a failed index is retried, a succeeded one counted once; the Job is
// Complete once every index succeeded.
func TestPlanIndexedJob(t *testing.T) {
	job := testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) {
		s.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		s.Completions, s.Parallelism = ptr.To[int32](3), ptr.To[int32](2)
	})
	st, act := planJob(job, JobState{}, nil, t0)
	if act.create != 2 || len(act.indexes) != 2 || act.indexes[0] != 0 || act.indexes[1] != 1 {
		t.Fatalf("first: %+v", act)
	}
	idx := func(i int32) *int32 { return &i }
	pods := jobPods("", "")
	pods[0].Index, pods[1].Index = idx(0), idx(1)
	st.Pods = pods
	// Index 1 fails, index 0 succeeds: after the back-off, 1 and 2 are made.
	st, act = planJob(job, st, map[string]jobPodView{"p0": ended(corev1.PodSucceeded, t0), "p1": ended(corev1.PodFailed, t0)}, t0.Add(time.Second))
	if st.Succeeded != 1 || st.Failed != 1 || act.create != 0 || act.requeue != 9*time.Second {
		t.Fatalf("after one success, one failure: %+v %+v", st, act)
	}
	st, act = planJob(job, st, nil, t0.Add(10*time.Second))
	if act.create != 2 || act.indexes[0] != 1 || act.indexes[1] != 2 {
		t.Fatalf("retry: %+v", act)
	}
	more := jobPods("", "", "", "")[2:]
	more[0].Index, more[1].Index = idx(1), idx(2)
	st.Pods = append(st.Pods, more...)
	views := map[string]jobPodView{"p2": ended(corev1.PodSucceeded, t0.Add(11*time.Second)), "p3": ended(corev1.PodSucceeded, t0.Add(12*time.Second))}
	st, _ = planJob(job, st, views, t0.Add(13*time.Second))
	if c := st.Finished(); c == nil || c.Type != batchv1.JobComplete || st.Succeeded != 3 || len(st.CompletedIndexes) != 3 {
		t.Fatalf("complete: %+v", st)
	}
}

func TestNewIndexedJobPod(t *testing.T) {
	job := testJob(corev1.RestartPolicyNever, nil)
	i := int32(4)
	p := newJobPod(job, &i, t0)
	if !strings.HasPrefix(p.Name, "work-4-") || len(p.Name) != len("work-4-")+5 || p.Spec.Hostname != "work-4" ||
		p.Annotations[batchv1.JobCompletionIndexAnnotation] != "4" || p.Spec.Containers[0].Env[0].Value != "4" {
		t.Fatalf("%s %s %v %v", p.Name, p.Spec.Hostname, p.Annotations, p.Spec.Containers[0].Env)
	}
	if job.Spec.Template.Spec.Containers[0].Env != nil {
		t.Fatal("the template was changed")
	}
}

// TestPlanJobSuspend: a suspended Job makes no pod and loses its active
// ones (not counted as failures), its deadline stopped; resumed, it goes on.
func TestPlanJobSuspend(t *testing.T) {
	job := testJob(corev1.RestartPolicyNever, func(s *batchv1.JobSpec) {
		s.Suspend, s.ActiveDeadlineSeconds = ptr.To(true), ptr.To[int64](30)
	})
	st, act := planJob(job, JobState{}, nil, t0)
	if act.create != 0 || st.DisplayStatus() != "Suspended" || !st.StartTime.IsZero() {
		t.Fatalf("created suspended: %+v %+v", st, act)
	}
	st.Pods = jobPods("")
	st, _ = planJob(job, st, map[string]jobPodView{"p0": {phase: corev1.PodRunning}}, t0.Add(time.Minute))
	if len(st.Removing) != 1 || st.Failed != 0 || st.Active != 0 || st.Finished() != nil {
		t.Fatalf("suspended with a running pod: %+v", st)
	}
	st.Removing = nil
	job.Spec.Suspend = ptr.To(false)
	st, act = planJob(job, st, nil, t0.Add(2*time.Minute))
	if act.create != 1 || st.DisplayStatus() != "Running" || !st.StartTime.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("resumed: %+v %+v", st, act)
	}
	// The deadline counts from the resume, not from the first start.
	if st, _ = planJob(job, st, nil, t0.Add(2*time.Minute+29*time.Second)); st.Finished() != nil {
		t.Fatalf("deadline counted from before the suspension: %+v", st)
	}
}
