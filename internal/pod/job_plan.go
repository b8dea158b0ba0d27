package pod

import (
	"fmt"
	"slices"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// The Job controller's back-off between a failed pod and its replacement:
// 10 s doubling with each failure since the last success, at most 6 min.
const (
	JobBackoffInitial = 10 * time.Second
	JobBackoffMax     = 6 * time.Minute
)

// DefaultBackoffLimit is a Job's backoffLimit when it sets none.
const DefaultBackoffLimit = 6

// jobPodView is what a Job's plan sees of one of its pods.
type jobPodView struct {
	phase    corev1.PodPhase
	terminal bool
	restarts int32     // every container's restarts, init ones included
	finished time.Time // when it ended (a terminal pod)
}

// jobActions is what the controller does after a plan.
type jobActions struct {
	// create is how many new pods to make now.
	create int
	// indexes are their completion indexes (completionMode Indexed).
	indexes []int32
	// requeue, when set, is when the plan wants to run again (a back-off,
	// a deadline, a TTL ending).
	requeue time.Duration
}

// planJob is the Job controller's sync for one Job, a pure function of
// its spec, its recorded state, what its pods are (by UID; a pod not seen
// yet is pending) and the time: it counts the pods that ended, decides
// whether the Job is Complete or Failed, which pods go (moved to
// st.Removing) and how many to make, after the back-off.
func planJob(job *batchv1.Job, st JobState, pods map[string]jobPodView, now time.Time) (JobState, jobActions) {
	var act jobActions
	st.Pods = append([]JobPod(nil), st.Pods...)
	st.Conditions = append([]JobCondition(nil), st.Conditions...)
	st.Events = append([]Event(nil), st.Events...)
	st.Removing = append([]*corev1.Pod(nil), st.Removing...)
	st.CompletedIndexes = append([]int32(nil), st.CompletedIndexes...)
	if st.Finished() != nil {
		return st, afterFinish(job, &st, now)
	}
	if suspend(job, &st, now) {
		return st, act
	}
	if st.StartTime.IsZero() {
		st.StartTime = now
	}
	countEnded(&st, pods)

	var active []int // indexes in st.Pods
	var restarts int32
	for i, jp := range st.Pods {
		if jp.Counted == "" {
			active = append(active, i)
			restarts += pods[string(jp.Pod.UID)].restarts
		}
	}
	st.Active = int32(len(active))

	limit := int32(DefaultBackoffLimit)
	if job.Spec.BackoffLimit != nil {
		limit = *job.Spec.BackoffLimit
	}
	onFailure := job.Spec.Template.Spec.RestartPolicy == corev1.RestartPolicyOnFailure
	switch {
	case st.Failed > limit || onFailure && (restarts > 0 && limit == 0 || limit > 0 && restarts >= limit):
		failJob(&st, active, "BackoffLimitExceeded", "Job has reached the specified backoff limit", now)
		return st, afterFinish(job, &st, now)
	case job.Spec.ActiveDeadlineSeconds != nil && now.Sub(st.StartTime) >= time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second:
		failJob(&st, active, "DeadlineExceeded", "Job was active longer than specified deadline", now)
		return st, afterFinish(job, &st, now)
	}

	parallelism := int32(1)
	if job.Spec.Parallelism != nil {
		parallelism = *job.Spec.Parallelism
	}
	var want int32
	switch c := job.Spec.Completions; {
	case c == nil && st.Succeeded > 0:
		// A work queue: once a pod succeeded, no new ones; done when the
		// others end.
		if st.Active == 0 {
			completeJob(&st, now)
			return st, afterFinish(job, &st, now)
		}
		want = st.Active
	case c == nil:
		want = parallelism
	case st.Succeeded >= *c:
		st.Removing = append(st.Removing, takePods(&st, active)...)
		st.Active = 0
		completeJob(&st, now)
		return st, afterFinish(job, &st, now)
	default:
		want = min(parallelism, *c-st.Succeeded)
	}
	if st.Active > want {
		// Parallelism went down: the newest go.
		st.Removing = append(st.Removing, takePods(&st, active[want:])...)
		st.Active = want
	}
	if st.Active < want {
		if wait := jobBackoffLeft(st, now); wait > 0 {
			act.requeue = wait
		} else {
			act.create = int(want - st.Active)
			if isIndexed(job) {
				act.indexes = pendingIndexes(st, *job.Spec.Completions, act.create)
				act.create = len(act.indexes)
			}
		}
	}
	if d := job.Spec.ActiveDeadlineSeconds; d != nil {
		left := st.StartTime.Add(time.Duration(*d) * time.Second).Sub(now)
		if act.requeue == 0 || left < act.requeue {
			act.requeue = left
		}
	}
	return st, act
}

// countEnded adds the pods that ended since the last plan to the Job's
// counts, in the order they ended: a success resets the back-off, a
// failure extends it.
func countEnded(st *JobState, pods map[string]jobPodView) {
	var ended []int
	for i, jp := range st.Pods {
		if v, ok := pods[string(jp.Pod.UID)]; ok && jp.Counted == "" && v.terminal {
			ended = append(ended, i)
		}
	}
	sort.SliceStable(ended, func(a, b int) bool {
		return pods[string(st.Pods[ended[a]].Pod.UID)].finished.Before(pods[string(st.Pods[ended[b]].Pod.UID)].finished)
	})
	for _, i := range ended {
		v := pods[string(st.Pods[i].Pod.UID)]
		if v.phase == corev1.PodSucceeded {
			st.Pods[i].Counted = corev1.PodSucceeded
			if idx := st.Pods[i].Index; idx != nil {
				// An index counts once, however many of its pods succeed.
				if slices.Contains(st.CompletedIndexes, *idx) {
					continue
				}
				st.CompletedIndexes = append(st.CompletedIndexes, *idx)
				slices.Sort(st.CompletedIndexes)
			}
			st.Succeeded++
			st.FailuresAfterLastSuccess, st.LastFailure = 0, time.Time{}
			continue
		}
		st.Pods[i].Counted = corev1.PodFailed
		st.Failed++
		st.FailuresAfterLastSuccess++
		if v.finished.After(st.LastFailure) {
			st.LastFailure = v.finished
		}
	}
}

// suspend applies spec.suspend as the Job controller does, and reports
// whether the Job is suspended: its active pods are removed (not counted
// as failures), its start time (the deadline's origin) cleared, and it
// gets the Suspended condition; resumed, it loses the condition and
// starts anew.
func suspend(job *batchv1.Job, st *JobState, now time.Time) bool {
	i := slices.IndexFunc(st.Conditions, func(c JobCondition) bool { return c.Type == batchv1.JobSuspended })
	if job.Spec.Suspend == nil || !*job.Spec.Suspend {
		if i >= 0 {
			st.Conditions = slices.Delete(st.Conditions, i, i+1)
			st.event(now, "Normal", "Resumed", "Job resumed")
		}
		return false
	}
	var active []int
	for j, jp := range st.Pods {
		if jp.Counted == "" {
			active = append(active, j)
		}
	}
	st.Removing = append(st.Removing, takePods(st, active)...)
	st.Active, st.StartTime = 0, time.Time{}
	if i < 0 {
		st.Conditions = append(st.Conditions, JobCondition{Type: batchv1.JobSuspended, Reason: "JobSuspended", Message: "Job suspended", Time: now})
		st.event(now, "Normal", "Suspended", "Job suspended")
	}
	return true
}

// isIndexed reports completionMode Indexed.
func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

// pendingIndexes are up to n completion indexes, lowest first, that have
// neither succeeded nor an active pod.
func pendingIndexes(st JobState, completions int32, n int) []int32 {
	taken := map[int32]bool{}
	for _, i := range st.CompletedIndexes {
		taken[i] = true
	}
	for _, jp := range st.Pods {
		if jp.Counted == "" && jp.Index != nil {
			taken[*jp.Index] = true
		}
	}
	var out []int32
	for i := int32(0); i < completions && len(out) < n; i++ {
		if !taken[i] {
			out = append(out, i)
		}
	}
	return out
}

// jobBackoffLeft is how long a replacement still waits: 10 s doubling
// with each failure since the last success, capped at 6 min, from the
// last failure.
func jobBackoffLeft(st JobState, now time.Time) time.Duration {
	if st.FailuresAfterLastSuccess == 0 {
		return 0
	}
	d := JobBackoffInitial
	for i := int32(1); i < st.FailuresAfterLastSuccess && d < JobBackoffMax; i++ {
		d *= 2
	}
	d = min(d, JobBackoffMax)
	if left := st.LastFailure.Add(d).Sub(now); left > 0 {
		return left
	}
	return 0
}

// failJob marks the Job Failed: its active pods are removed, and counted
// as failed, as the Job controller deletes them.
func failJob(st *JobState, active []int, reason, msg string, now time.Time) {
	st.Failed += int32(len(active))
	st.Removing = append(st.Removing, takePods(st, active)...)
	st.Active = 0
	st.Conditions = append(st.Conditions, JobCondition{Type: batchv1.JobFailed, Reason: reason, Message: msg, Time: now})
	st.event(now, "Warning", reason, msg)
}

func completeJob(st *JobState, now time.Time) {
	st.CompletionTime = now
	st.Conditions = append(st.Conditions, JobCondition{Type: batchv1.JobComplete, Reason: "CompletionsReached",
		Message: "Reached expected number of succeeded pods", Time: now})
	st.event(now, "Normal", "Completed", "Job completed")
}

// takePods removes the pods at idx from st.Pods and returns them.
func takePods(st *JobState, idx []int) []*corev1.Pod {
	drop := map[int]bool{}
	for _, i := range idx {
		drop[i] = true
	}
	var out []*corev1.Pod
	kept := st.Pods[:0:0]
	for i, jp := range st.Pods {
		if drop[i] {
			out = append(out, jp.Pod)
		} else {
			kept = append(kept, jp)
		}
	}
	st.Pods = kept
	return out
}

// afterFinish removes a finished Job's pods once ttlSecondsAfterFinished
// has passed (moved to Removing), or says when it will have.
func afterFinish(job *batchv1.Job, st *JobState, now time.Time) jobActions {
	fin, ttl := st.Finished(), job.Spec.TTLSecondsAfterFinished
	if fin == nil || ttl == nil || st.PodsRemoved {
		return jobActions{}
	}
	if left := fin.Time.Add(time.Duration(*ttl) * time.Second).Sub(now); left > 0 {
		return jobActions{requeue: left}
	}
	for _, jp := range st.Pods {
		st.Removing = append(st.Removing, jp.Pod)
	}
	st.Pods = nil
	st.PodsRemoved = true
	st.event(now, "Normal", "TTLExpired", fmt.Sprintf("the Job's pods were removed %ds after it finished", *ttl))
	return jobActions{}
}
