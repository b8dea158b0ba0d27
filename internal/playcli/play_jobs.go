package playcli

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// jobsDone reports whether every Job of a is Complete (a suspended one
// has nothing to wait for), and which pods (by UID) are Jobs' pods; a
// Failed Job is play --wait's failure, with its reason.
func jobsDone(store pod.Store, a *pod.Applied) (bool, map[string]bool, error) {
	done := true
	pods := map[string]bool{}
	for _, j := range a.Jobs {
		st, err := store.LoadJob(string(j.UID))
		if err != nil {
			return false, nil, err
		}
		suspended := j.Spec.Suspend != nil && *j.Spec.Suspend
		if st == nil {
			done = done && suspended // not started yet
			continue
		}
		for _, p := range st.AllPods() {
			pods[string(p.UID)] = true
		}
		switch fin := st.Finished(); {
		case fin == nil:
			done = done && suspended && st.Suspended()
		case fin.Type == batchv1.JobFailed:
			return false, nil, &waitError{exitPodFailed, fmt.Sprintf("job %s failed: %s: %s (%s)",
				cli.SafeText(j.Name), fin.Reason, fin.Message, jobProgress(j, st))}
		}
	}
	return done, pods, nil
}

// jobProgress sums a Job's pods up: "0/1 succeeded, 1 failed, 1 active".
func jobProgress(j *batchv1.Job, st *pod.JobState) string {
	if st == nil {
		return "not started"
	}
	return fmt.Sprintf("%s succeeded, %d failed, %d active", completions(j, st), st.Failed, st.Active)
}

// completions is kubectl's COMPLETIONS column: succeeded/completions, or
// for a work queue (no completions) succeeded/1 of parallelism.
func completions(j *batchv1.Job, st *pod.JobState) string {
	if j.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", st.Succeeded, *j.Spec.Completions)
	}
	par := int32(1)
	if j.Spec.Parallelism != nil {
		par = *j.Spec.Parallelism
	}
	if par > 1 {
		return fmt.Sprintf("%d/1 of %d", st.Succeeded, par)
	}
	return fmt.Sprintf("%d/1", st.Succeeded)
}

// rolledOut reports whether every Deployment of a has its replicas, all
// of its current template, and no old pod left; why says which is not.
func rolledOut(store pod.Store, a *pod.Applied) (bool, string) {
	for _, d := range a.Deployments {
		st, err := store.LoadDeployment(string(d.UID))
		if err != nil || st == nil {
			return false, "deployment " + d.Name + ": not started"
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		// The hash of the template as recorded now: a re-play's rollout is
		// waited for even before the supervisor has seen it.
		hash := pod.TemplateHash(&d.Spec.Template)
		current := int32(0)
		for _, dp := range st.Pods {
			if dp.Hash == hash {
				current++
			}
		}
		if current != want || int(current) != len(st.Pods) || len(st.Removing) > 0 {
			return false, fmt.Sprintf("deployment %s: %d of %d pods of the current template, %d old", d.Name, current, want, len(st.Pods)-int(current)+len(st.Removing))
		}
	}
	return true, ""
}

// jobsSummary says how the Jobs of a ended: "2 jobs complete, 1 suspended".
func jobsSummary(store pod.Store, a *pod.Applied) string {
	complete, suspended := 0, 0
	for _, j := range a.Jobs {
		st, _ := store.LoadJob(string(j.UID))
		switch {
		case st != nil && st.Finished() != nil:
			complete++
		case j.Spec.Suspend != nil && *j.Spec.Suspend:
			suspended++
		}
	}
	out := fmt.Sprintf("%d jobs complete", complete)
	if suspended > 0 {
		out += fmt.Sprintf(", %d suspended", suspended)
	}
	return out
}
