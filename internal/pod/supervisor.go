package pod

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Supervisor runs a Worker for every pod recorded in the Store and keeps
// the Store's status files current. It re-reads the records every
// ReloadPeriod, so `play -d` and `down` need no other
// channel to a running supervisor.
type Supervisor struct {
	cfg   Config
	store Store
	// ReloadPeriod is how often the records are re-read (default 2 s).
	ReloadPeriod time.Duration

	mu      sync.Mutex
	runners map[string]*runner // by pod uid
	onSync  func(PodStatus)
	hosts   *ServiceHosts
	// runCtx is Run's: the pods' workers run under it, whoever starts them.
	runCtx context.Context
	// jobs are the Job and Deployment controllers, by uid; only Run's goroutine
	// touches the map.
	jobs map[string]*jobRunner
	// replacing are the old StatefulSet pods being stopped, by uid.
	replacing map[string]bool
	// Service ports (svcplan.go): redirects in the pods' namespaces and
	// the published ports; warned holds the plan's warnings already logged.
	redirects *redirector
	proxy     *svcProxy
	warned    map[string]bool
}

type runner struct {
	w      *Worker
	cancel context.CancelFunc
	done   chan struct{}
}

// NewSupervisor returns a supervisor over store. onSync, if not nil, sees
// every pod status after each reconcile step.
func NewSupervisor(cfg Config, store Store, onSync func(PodStatus)) *Supervisor {
	cfg.defaults()
	hosts := &ServiceHosts{}
	if cfg.Hosts == nil {
		cfg.Hosts = hosts
	}
	return &Supervisor{cfg: cfg, store: store, ReloadPeriod: 2 * time.Second,
		runners: map[string]*runner{}, onSync: onSync, hosts: hosts, jobs: map[string]*jobRunner{}, replacing: map[string]bool{},
		redirects: newRedirector(cfg.Runtime, cfg.StateDir, cfg.Logger), proxy: newSvcProxy(cfg.Logger), warned: map[string]bool{}}
}

// Run supervises until ctx ends; the pods keep running after it returns.
func (s *Supervisor) Run(ctx context.Context) error {
	t := time.NewTicker(s.ReloadPeriod)
	defer t.Stop()
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
	defer s.stopAll()
	for {
		if err := s.reconcile(ctx); err != nil {
			s.cfg.Logger.Warn("reading the play state", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// reconcile starts workers for recorded pods and stops those whose record
// is gone (`down` tears those pods down itself).
func (s *Supervisor) reconcile(ctx context.Context) error {
	records, err := s.store.ListApplied()
	if err != nil {
		return err
	}
	// Job controllers first, and without the lock: a dropped one may be
	// waiting for it, and its pods must not be made again once dropped.
	s.syncJobs(ctx, records)
	want := map[string]bool{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range records {
		objs := a.Objects()
		byName := map[string]*corev1.Pod{}
		for _, p := range a.Pods {
			byName[key(p.Namespace, p.Name)] = p
		}
		old := s.syncReplacedLocked(ctx, a, objs, want)
		for _, p := range a.Pods {
			want[string(p.UID)] = true
			if len(old[key(p.Namespace, p.Name)]) > 0 {
				continue // its old pod has not had its turn yet
			}
			if s.mayStartLocked(p, byName, old) {
				s.startLocked(p, objs, a.SourceID)
			}
		}
	}
	for _, jr := range s.jobs {
		pods, a := jr.ctl.pods()
		objs := a.Objects()
		for _, p := range pods {
			want[string(p.UID)] = true
			s.startLocked(p, objs, a.SourceID)
		}
	}
	// Cancel every dropped runner first, then wait for them: they let go
	// in parallel, and down waits for the slowest only.
	var dropped []string
	for uid, r := range s.runners {
		if !want[uid] {
			r.cancel()
			dropped = append(dropped, uid)
		}
	}
	for _, uid := range dropped {
		<-s.runners[uid].done
		delete(s.runners, uid)
		s.store.DeleteStatus(uid)
	}
	s.updateServices(ctx, records)
	return nil
}

func (s *Supervisor) stopAll() {
	s.proxy.closeAll()
	for uid, jr := range s.jobs {
		jr.cancel()
		<-jr.done
		delete(s.jobs, uid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for uid, r := range s.runners {
		r.cancel()
		<-r.done
		delete(s.runners, uid)
	}
}

// startLocked runs a worker for p unless one runs (s.mu held).
func (s *Supervisor) startLocked(p *corev1.Pod, objs Objects, source string) {
	uid := string(p.UID)
	if _, ok := s.runners[uid]; ok || s.runCtx == nil || s.runCtx.Err() != nil {
		return
	}
	w := NewWorker(s.cfg, p, objs, source)
	if st, ok := s.store.ReadStatus(uid); ok {
		w.restore(st)
	}
	rctx, cancel := context.WithCancel(s.runCtx)
	r := &runner{w: w, cancel: cancel, done: make(chan struct{})}
	s.runners[uid] = r
	go func() {
		defer close(r.done)
		var last []byte
		w.Run(rctx, func(st PodStatus) {
			if rctx.Err() != nil {
				return
			}
			// Written when it changed (or every minute, so that readers
			// can tell a live supervisor from a stale file).
			key := st
			key.Updated = st.Updated.Truncate(time.Minute)
			b, _ := json.Marshal(key)
			if bytes.Equal(b, last) {
				return
			}
			if err := s.store.WriteStatus(st); err != nil {
				s.cfg.Logger.Warn("writing pod status", "pod", st.Name, "error", err)
			} else {
				last = b
			}
			if s.onSync != nil {
				s.onSync(st)
			}
		})
	}()
}

// SortStatuses orders statuses by namespace, then name.
func SortStatuses(st []PodStatus) {
	sort.Slice(st, func(i, j int) bool {
		if st[i].Namespace != st[j].Namespace {
			return st[i].Namespace < st[j].Namespace
		}
		return st[i].Name < st[j].Name
	})
}

// updateServices gives the hosts table every recorded Service and the
// supervised pods' addresses and readiness, and brings the Services'
// port redirects and published ports in line with them: the redirects
// first, so that a name never leads to a pod whose port is not mapped yet.
func (s *Supervisor) updateServices(ctx context.Context, records []*Applied) {
	var services []*corev1.Service
	var play []PlayService
	for _, a := range records {
		services = append(services, a.Services...)
		for _, svc := range a.Services {
			play = append(play, PlayService{Service: svc, PublishAddress: a.PublishAddress})
		}
	}
	var eps []Endpoint
	for _, r := range s.runners {
		st := r.w.Status()
		p := r.w.pod
		var ports []corev1.ContainerPort
		for _, c := range p.Spec.Containers {
			ports = append(ports, c.Ports...)
		}
		eps = append(eps, Endpoint{Namespace: p.Namespace, Name: p.Name, Hostname: hostname(p), Subdomain: p.Spec.Subdomain,
			UID: string(p.UID), SandboxID: st.SandboxID, IP: st.PodIP, Labels: p.Labels, Ready: st.Ready,
			HostNetwork: p.Spec.HostNetwork, Ports: ports})
	}
	plan := PlanServices(play, eps)
	warned := map[string]bool{}
	for _, w := range plan.Warnings {
		if !s.warned[w] {
			s.cfg.Logger.Warn(w)
		}
		warned[w] = true
	}
	s.warned = warned // one that goes away and comes back is said again
	s.redirects.sync(ctx, plan, eps)
	s.proxy.sync(plan.Published)
	s.hosts.Update(services, eps)
}
