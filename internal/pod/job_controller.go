package pod

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// jobController runs one Job in the supervisor, as the Job controller
// does in a cluster: every SyncPeriod it plans (job_plan.go) from its
// pods' statuses, records the new state (JobState, before acting, so that
// a supervisor that dies mid-way leaves nothing unrecorded), tears down
// the pods the plan took and makes the new ones, whose workers the
// supervisor runs as it runs any pod's.
type jobController struct {
	sup *Supervisor
	log *slog.Logger

	mu      sync.Mutex // guards what follows; never held while calling sup
	job     *batchv1.Job
	applied *Applied
	state   JobState
	saved   []byte
}

func newJobController(s *Supervisor, job *batchv1.Job, a *Applied) *jobController {
	c := &jobController{sup: s, job: job, applied: a,
		log: s.cfg.Logger.With("job", job.Namespace+"/"+job.Name)}
	st, err := s.store.LoadJob(string(job.UID))
	switch {
	case err != nil:
		// A record that cannot be read is not overwritten with a fresh
		// start: that would run the Job's pods again.
		c.log.Error("reading the Job's state; the Job is left as it is", "error", err)
		c.state = JobState{UID: string(job.UID), Namespace: job.Namespace, Name: job.Name}
		c.job = nil
	case st != nil:
		c.state = *st
		c.saved, _ = json.Marshal(st)
	default:
		c.state = JobState{UID: string(job.UID), Namespace: job.Namespace, Name: job.Name}
	}
	return c
}

// update gives the controller the Job's latest record (same UID: the same
// Job, maybe suspended or resumed; its Secrets and ConfigMaps may have
// changed).
func (c *jobController) update(a *Applied, j *batchv1.Job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied = a
	if c.job != nil {
		c.job = j
	}
}

// pods returns the pods the supervisor must run for the Job (not those
// being removed) and the record they belong to.
func (c *jobController) pods() ([]*corev1.Pod, *Applied) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(c.state.Pods))
	for _, jp := range c.state.Pods {
		out = append(out, jp.Pod)
	}
	return out, c.applied
}

func (c *jobController) run(ctx context.Context) { syncEvery(ctx, c.sup.cfg.SyncPeriod, c.sync) }

// syncEvery runs sync at once and then every period until ctx ends: the
// loop of the supervisor's controllers.
func syncEvery(ctx context.Context, period time.Duration, sync func(context.Context)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sync is one step: plan, record, remove, create.
func (c *jobController) sync(ctx context.Context) {
	c.mu.Lock()
	job, a, st := c.job, c.applied, c.state
	c.mu.Unlock()
	if job == nil {
		return
	}
	views := map[string]jobPodView{}
	for _, jp := range st.Pods {
		if ps, ok := c.sup.podStatus(string(jp.Pod.UID)); ok {
			views[string(jp.Pod.UID)] = jobView(ps)
		}
	}
	now := c.sup.cfg.Clock.Now()
	next, act := planJob(job, st, views, now)
	if !c.commit(&next) {
		return
	}
	for len(next.Removing) > 0 && ctx.Err() == nil {
		p := next.Removing[0]
		if err := c.sup.removePod(ctx, p, a); err != nil {
			c.log.Warn("removing a pod of the Job; retried", "pod", p.Name, "error", err)
			return
		}
		next.Removing = next.Removing[1:]
		next.event(c.sup.cfg.Clock.Now(), "Normal", "SuccessfulDelete", "Deleted pod: "+p.Name)
		if !c.commit(&next) {
			return
		}
	}
	if act.create > 0 && !c.recorded(a, job) {
		return // down or a re-play took the Job away: the supervisor drops it
	}
	for i := range act.create {
		if ctx.Err() != nil {
			return
		}
		var index *int32
		if i < len(act.indexes) {
			index = &act.indexes[i]
		}
		p := newJobPod(job, index, c.sup.cfg.Clock.Now())
		next.Pods = append(next.Pods, JobPod{Pod: p, Index: index})
		next.Active++
		next.event(c.sup.cfg.Clock.Now(), "Normal", "SuccessfulCreate", "Created pod: "+p.Name)
		// Recorded first: a pod that runs is always one the Job knows.
		if !c.commit(&next) {
			return
		}
		c.sup.startPod(p, a)
	}
}

// recorded reports whether the Job is still in its manifest's record:
// down removes the record first, and a pod made after it would outlive
// down.
func (c *jobController) recorded(a *Applied, job *batchv1.Job) bool {
	cur, err := c.sup.store.LoadApplied(a.SourceID)
	if err != nil || cur == nil {
		return false
	}
	for _, j := range cur.Jobs {
		if j.UID == job.UID {
			return true
		}
	}
	return false
}

// commit makes st the Job's state and records it when it changed; false
// when it could not be recorded (nothing is done on an unrecorded plan).
func (c *jobController) commit(st *JobState) bool {
	return commitState(&c.mu, &c.state, &c.saved, st, c.sup.store.SaveJob, c.log, "Job")
}

// commitState makes st a controller's state (under mu) and records it with
// save when its encoding differs from the one saved last; false when it
// could not be recorded (nothing is done on an unrecorded plan).
func commitState[S any](mu *sync.Mutex, state *S, saved *[]byte, st *S, save func(*S) error, log *slog.Logger, kind string) bool {
	b, err := json.Marshal(st)
	if err != nil {
		return false
	}
	mu.Lock()
	same := bytes.Equal(b, *saved)
	mu.Unlock()
	if !same {
		if err := save(st); err != nil {
			log.Warn("recording the "+kind+"'s state", "error", err)
			return false
		}
	}
	mu.Lock()
	*state, *saved = *st, b
	mu.Unlock()
	return true
}

// jobView is what a plan needs of a pod's status.
func jobView(ps PodStatus) jobPodView {
	v := jobPodView{phase: ps.Phase, terminal: ps.Terminal}
	for _, list := range [][]ContainerStatus{ps.InitContainers, ps.Containers} {
		for _, cs := range list {
			v.restarts += cs.RestartCount
			if cs.FinishedAt.After(v.finished) {
				v.finished = cs.FinishedAt
			}
		}
	}
	if v.terminal && v.finished.IsZero() {
		v.finished = ps.Updated
	}
	return v
}

// newJobPod makes a pod of job from its template, named as the Job
// controller names them (<job>-<5 random characters>, or with a
// completion index <job>-<index>-<5 random characters>) and labelled as
// it labels them, so that a Service may select a Job's pods. An indexed
// pod gets its index as annotation, label and JOB_COMPLETION_INDEX in
// every container's environment, and <job>-<index> as hostname.
func newJobPod(job *batchv1.Job, index *int32, now time.Time) *corev1.Pod {
	p := &corev1.Pod{}
	job.Spec.Template.ObjectMeta.DeepCopyInto(&p.ObjectMeta)
	job.Spec.Template.Spec.DeepCopyInto(&p.Spec)
	p.Kind, p.APIVersion = "Pod", "v1"
	base := job.Name
	if index != nil {
		base += "-" + strconv.Itoa(int(*index))
	}
	if len(base) > 57 {
		base = base[:57] // generateName keeps 58 characters with the dash
	}
	p.Name, p.Namespace = base+"-"+randomSuffix(5), job.Namespace
	p.UID = newUID()
	p.CreationTimestamp = metav1.NewTime(now)
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	for k, v := range jobPodLabels(job) {
		p.Labels[k] = v
	}
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[naming.PlayAnnotationOwner] = "Job/" + job.Name
	if index != nil {
		idx := strconv.Itoa(int(*index))
		p.Annotations[batchv1.JobCompletionIndexAnnotation] = idx
		p.Labels[batchv1.JobCompletionIndexAnnotation] = idx
		if p.Spec.Hostname == "" {
			p.Spec.Hostname = job.Name + "-" + idx
			if len(p.Spec.Hostname) > 63 {
				p.Spec.Hostname = strings.TrimRight(p.Spec.Hostname[:63], "-")
			}
		}
		for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
			for i := range list {
				list[i].Env = append(list[i].Env, corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", Value: idx})
			}
		}
	}
	return p
}

// jobPodLabels are the labels the Job controller gives its pods.
func jobPodLabels(job *batchv1.Job) map[string]string {
	return map[string]string{
		"batch.kubernetes.io/controller-uid": string(job.UID), "controller-uid": string(job.UID),
		"batch.kubernetes.io/job-name": job.Name, "job-name": job.Name,
	}
}

// randomSuffix is n characters of the API server's generateName alphabet
// (no vowels, no look-alikes).
func randomSuffix(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
