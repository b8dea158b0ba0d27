package playcli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// isJobs reports whether a get/describe argument names Jobs.
func isJobs(kind string) bool {
	switch kind {
	case "job", "jobs", "job.batch", "jobs.batch":
		return true
	}
	return false
}

type jobRef struct {
	applied *pod.Applied
	job     *batchv1.Job
	state   *pod.JobState // nil: the supervisor has not started it yet
}

// listJobs returns every recorded Job with its state, optionally in one
// namespace and of one name.
func listJobs(store pod.Store, ns, name string) ([]jobRef, error) {
	records, err := store.ListApplied()
	if err != nil {
		return nil, err
	}
	var out []jobRef
	for _, a := range records {
		for _, j := range a.Jobs {
			if ns != "" && j.Namespace != ns || name != "" && j.Name != name {
				continue
			}
			st, err := store.LoadJob(string(j.UID))
			if err != nil {
				return nil, err
			}
			out = append(out, jobRef{applied: a, job: j, state: st})
		}
	}
	return out, nil
}

// getJobs prints Jobs as kubectl get jobs does.
func getJobs(out io.Writer, store pod.Store, ns, name, output string, allNS bool) error {
	jobs, err := listJobs(store, ns, name)
	if err != nil {
		return err
	}
	if name != "" && len(jobs) == 0 {
		return fmt.Errorf("job %q not found", name)
	}
	switch output {
	case "json", "yaml":
		items := make([]*batchv1.Job, 0, len(jobs))
		for _, r := range jobs {
			items = append(items, apiJob(r))
		}
		return printList(out, output, items, name != "")
	case "name":
		for _, r := range jobs {
			fmt.Fprintln(out, "job.batch/"+cli.SafeText(r.job.Name))
		}
		return nil
	}
	if len(jobs) == 0 {
		fmt.Fprintln(os.Stderr, "No resources found.")
		return nil
	}
	tw := tabwriter.NewWriter(cli.SafeWriter(out), 0, 4, 3, ' ', 0)
	hdr := "NAME\tSTATUS\tCOMPLETIONS\tDURATION\tAGE"
	if allNS {
		hdr = "NAMESPACE\t" + hdr
	}
	fmt.Fprintln(tw, hdr)
	now := time.Now()
	for _, r := range jobs {
		st := r.state
		if st == nil {
			st = &pod.JobState{}
		}
		status, dur := "Pending", ""
		if r.state != nil {
			status = st.DisplayStatus()
		}
		switch {
		case !st.CompletionTime.IsZero():
			dur = age(st.StartTime, st.CompletionTime)
		case !st.StartTime.IsZero():
			dur = age(st.StartTime, now)
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.job.Name, status, completions(r.job, st), orNone(dur), age(r.job.CreationTimestamp.Time, now))
		if allNS {
			row = r.job.Namespace + "\t" + row
		}
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}

// apiJob is a Job as the API server returns it, with its status.
func apiJob(r jobRef) *batchv1.Job {
	j := r.job.DeepCopy()
	j.APIVersion, j.Kind = "batch/v1", "Job"
	st := r.state
	if st == nil {
		return j
	}
	ts := func(t time.Time) *metav1.Time {
		if t.IsZero() {
			return nil
		}
		mt := metav1.NewTime(t)
		return &mt
	}
	ready := int32(0)
	j.Status = batchv1.JobStatus{StartTime: ts(st.StartTime), CompletionTime: ts(st.CompletionTime),
		Active: st.Active, Succeeded: st.Succeeded, Failed: st.Failed, Ready: &ready}
	if len(st.CompletedIndexes) > 0 {
		j.Status.CompletedIndexes = indexRanges(st.CompletedIndexes)
	}
	for _, c := range st.Conditions {
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: c.Type, Status: corev1.ConditionTrue,
			Reason: c.Reason, Message: c.Message, LastProbeTime: metav1.NewTime(c.Time), LastTransitionTime: metav1.NewTime(c.Time)})
	}
	return j
}

// describeJob prints a Job as kubectl describe job does.
func describeJob(out io.Writer, r jobRef, now time.Time) {
	j, st := r.job, r.state
	if st == nil {
		st = &pod.JobState{}
	}
	w := tabwriter.NewWriter(out, 0, 4, 1, ' ', 0)
	kv := func(k, v string) { fmt.Fprintf(w, "%s:\t%s\n", k, cli.SafeText(v)) }
	kv("Name", j.Name)
	kv("Namespace", j.Namespace)
	kv("UID", string(j.UID))
	kv("Source", r.applied.Source)
	kv("Labels", mapLines(j.Labels, 0))
	par, limit := int32(1), int32(pod.DefaultBackoffLimit)
	if j.Spec.Parallelism != nil {
		par = *j.Spec.Parallelism
	}
	if j.Spec.BackoffLimit != nil {
		limit = *j.Spec.BackoffLimit
	}
	kv("Parallelism", fmt.Sprint(par))
	if j.Spec.Completions != nil {
		kv("Completions", fmt.Sprint(*j.Spec.Completions))
	} else {
		kv("Completions", "<unset>")
	}
	if cm := j.Spec.CompletionMode; cm != nil {
		kv("Completion Mode", string(*cm))
	}
	kv("Backoff Limit", fmt.Sprint(limit))
	if d := j.Spec.ActiveDeadlineSeconds; d != nil {
		kv("Active Deadline Seconds", fmt.Sprintf("%ds", *d))
	}
	if t := j.Spec.TTLSecondsAfterFinished; t != nil {
		kv("TTL Seconds After Finished", fmt.Sprintf("%ds", *t))
	}
	if !st.StartTime.IsZero() {
		kv("Start Time", st.StartTime.Format(time.RFC1123Z))
	}
	if !st.CompletionTime.IsZero() {
		kv("Completed At", st.CompletionTime.Format(time.RFC1123Z))
		kv("Duration", age(st.StartTime, st.CompletionTime))
	}
	kv("Pods Statuses", fmt.Sprintf("%d Active / %d Succeeded / %d Failed", st.Active, st.Succeeded, st.Failed))
	if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
		kv("Completed Indexes", orNone(indexRanges(st.CompletedIndexes)))
	}
	fmt.Fprintln(w, "Conditions:")
	if len(st.Conditions) == 0 {
		fmt.Fprintln(w, "  <none>")
	}
	for _, c := range st.Conditions {
		fmt.Fprintf(w, "  %s\tTrue\t%s\t%s\n", c.Type, cli.SafeText(c.Reason), cli.SafeText(c.Message))
	}
	w.Flush()
	fmt.Fprintln(out, "Events:")
	if len(st.Events) == 0 {
		fmt.Fprintln(out, "  <none>")
		return
	}
	ew := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(ew, "  Type\tReason\tAge\tMessage")
	for _, e := range st.Events {
		fmt.Fprintf(ew, "  %s\t%s\t%s\t%s\n", e.Type, cli.SafeText(e.Reason), age(e.Time, now), cli.SafeText(e.Message))
	}
	ew.Flush()
}

// indexRanges writes sorted completion indexes as the API does: "0-2,4".
func indexRanges(idx []int32) string {
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
