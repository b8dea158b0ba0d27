package pod

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// workloadController makes and removes the pods of one workload (a Job,
// a Deployment) in the supervisor.
type workloadController interface {
	run(ctx context.Context)
	// pods are the pods the supervisor must run for it, and their record.
	pods() ([]*corev1.Pod, *Applied)
}

// jobRunner is a running workload controller.
type jobRunner struct {
	ctl    workloadController
	cancel context.CancelFunc
	done   chan struct{}
}

// syncJobs starts a controller for every recorded Job and Deployment and
// stops those no longer recorded (down or a re-play tears their pods
// down). It runs on Run's goroutine, without s.mu.
func (s *Supervisor) syncJobs(ctx context.Context, records []*Applied) {
	want := map[string]bool{}
	start := func(uid string, ctl workloadController) {
		jctx, cancel := context.WithCancel(ctx)
		jr := &jobRunner{ctl: ctl, cancel: cancel, done: make(chan struct{})}
		s.jobs[uid] = jr
		go func() {
			defer close(jr.done)
			jr.ctl.run(jctx)
		}()
	}
	for _, a := range records {
		for _, j := range a.Jobs {
			uid := string(j.UID)
			want[uid] = true
			if jr, ok := s.jobs[uid]; ok {
				jr.ctl.(*jobController).update(a, j)
				continue
			}
			start(uid, newJobController(s, j, a))
		}
		for _, d := range a.Deployments {
			uid := string(d.UID)
			want[uid] = true
			if jr, ok := s.jobs[uid]; ok {
				jr.ctl.(*deploymentController).update(a, d)
				continue
			}
			start(uid, newDeploymentController(s, d, a))
		}
	}
	var dropped []string
	for uid, jr := range s.jobs {
		if !want[uid] {
			jr.cancel()
			dropped = append(dropped, uid)
		}
	}
	for _, uid := range dropped {
		<-s.jobs[uid].done
		delete(s.jobs, uid)
	}
}

// podStatus is the status of a supervised pod (ok false when no worker
// runs it yet).
func (s *Supervisor) podStatus(uid string) (PodStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runners[uid]
	if !ok {
		return PodStatus{}, false
	}
	return r.w.Status(), true
}

// startPod runs a worker for a pod a Job controller made.
func (s *Supervisor) startPod(p *corev1.Pod, a *Applied) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startLocked(p, a.Objects(), a.SourceID)
}

// removePod stops supervising a pod a Job controller took back and tears
// it down, as the Job controller deletes a pod.
func (s *Supervisor) removePod(ctx context.Context, p *corev1.Pod, a *Applied) error {
	uid := string(p.UID)
	s.mu.Lock()
	r := s.runners[uid]
	delete(s.runners, uid)
	s.mu.Unlock()
	w := NewWorker(s.cfg, p, a.Objects(), a.SourceID)
	if r != nil {
		r.cancel()
		<-r.done
		w = r.w
	}
	if err := w.Teardown(ctx); err != nil {
		return err // its status stays: it is still there, to be retried
	}
	s.store.DeleteStatus(uid)
	return nil
}
