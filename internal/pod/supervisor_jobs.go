package pod

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// jobRunner is a running Job controller.
type jobRunner struct {
	ctl    *jobController
	cancel context.CancelFunc
	done   chan struct{}
}

// syncJobs starts a controller for every recorded Job and stops those of
// Jobs no longer recorded (down or a re-play tears their pods down). It
// runs on Run's goroutine, without s.mu.
func (s *Supervisor) syncJobs(ctx context.Context, records []*Applied) {
	want := map[string]bool{}
	for _, a := range records {
		for _, j := range a.Jobs {
			uid := string(j.UID)
			want[uid] = true
			if jr, ok := s.jobs[uid]; ok {
				jr.ctl.update(a)
				continue
			}
			jctx, cancel := context.WithCancel(ctx)
			jr := &jobRunner{ctl: newJobController(s, j, a), cancel: cancel, done: make(chan struct{})}
			s.jobs[uid] = jr
			go func() {
				defer close(jr.done)
				jr.ctl.run(jctx)
			}()
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
	err := w.Teardown(ctx)
	s.store.DeleteStatus(uid)
	return err
}
