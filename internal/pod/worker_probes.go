package pod

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// probesFor returns the probe state of a running container instance,
// creating it (timed from the container's start) on first sight.
func (w *Worker) probesFor(c *corev1.Container, st *runtimeapi.ContainerStatus) *containerProbes {
	if p, ok := w.probes[st.Id]; ok {
		return p
	}
	started := time.Unix(0, st.StartedAt)
	if st.StartedAt == 0 {
		started = w.cfg.Clock.Now()
	}
	p := &containerProbes{}
	if c.StartupProbe != nil {
		p.startup = newProbeState(Startup, c.StartupProbe, started)
	}
	if c.LivenessProbe != nil {
		p.liveness = newProbeState(Liveness, c.LivenessProbe, started)
	}
	if c.ReadinessProbe != nil {
		p.readiness = newProbeState(Readiness, c.ReadinessProbe, started)
	}
	w.probes[st.Id] = p
	return p
}

// started reports whether the startup probe (if any) has succeeded.
func (p *containerProbes) started() bool { return p.startup == nil || p.startup.result == ProbeSuccess }

// ready reports readiness: started and the readiness probe (if any) passing.
func (p *containerProbes) ready() bool {
	return p.started() && (p.readiness == nil || p.readiness.result == ProbeSuccess)
}

// runProbes runs the probes that are due for every running app container,
// in parallel, and kills containers whose liveness or startup probe failed.
func (w *Worker) runProbes(ctx context.Context, conts containerSet) {
	now := w.cfg.Clock.Now()
	type job struct {
		c     *corev1.Container
		id    string
		state *probeState
		ok    bool
		msg   string
	}
	var jobs []*job
	for _, c := range w.probed() {
		st := conts[c.Name]
		if st == nil || st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		if _, dying := w.killed[st.Id]; dying {
			continue
		}
		p := w.probesFor(c, st)
		// Until the startup probe succeeds, it is the only one that runs.
		if !p.started() {
			if p.startup.due(now) {
				jobs = append(jobs, &job{c: c, id: st.Id, state: p.startup})
			}
			continue
		}
		for _, s := range []*probeState{p.liveness, p.readiness} {
			if s != nil && s.due(now) {
				jobs = append(jobs, &job{c: c, id: st.Id, state: s})
			}
		}
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := ProbeTarget{ContainerID: j.id, Container: j.c, Host: w.probeHost()}
			j.ok, j.msg = w.cfg.Handler.Probe(ctx, t, j.state.spec, j.state.timeout)
		}()
	}
	wg.Wait()
	for _, j := range jobs {
		changed := j.state.observe(j.ok, j.msg, now)
		if !j.ok {
			w.event("Warning", "Unhealthy", fmt.Sprintf("%s probe failed: %s", j.state.kind, j.msg))
		}
		if !changed || j.state.result != ProbeFailure {
			continue
		}
		switch j.state.kind {
		case Liveness, Startup:
			msg := fmt.Sprintf("Container %s failed %s probe, will be restarted", j.c.Name, lower(j.state.kind))
			w.kill(ctx, j.c, j.id, "Unhealthy", msg)
		}
	}
}

func lower(k ProbeKind) string {
	switch k {
	case Liveness:
		return "liveness"
	case Readiness:
		return "readiness"
	}
	return "startup"
}

// probed lists the containers whose probes run: the sidecars and the app
// containers.
func (w *Worker) probed() []*corev1.Container {
	var out []*corev1.Container
	for i := range w.pod.Spec.InitContainers {
		if c := &w.pod.Spec.InitContainers[i]; isSidecar(c) {
			out = append(out, c)
		}
	}
	for i := range w.pod.Spec.Containers {
		out = append(out, &w.pod.Spec.Containers[i])
	}
	return out
}
