package pod

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// probesFor returns the probe state of a running container instance,
// starting it (timed from the container's start) on first sight.
func (w *Worker) probesFor(c *corev1.Container, st *runtimeapi.ContainerStatus) *containerProbes {
	p, ok := w.mem.probes[st.Id]
	if !ok {
		p = newContainerProbes(c, st, w.cfg.Clock.Now())
		w.mem.probes[st.Id] = p
	}
	return p
}

func (p *containerProbes) of(kind ProbeKind) *probeState {
	switch kind {
	case Startup:
		return p.startup
	case Liveness:
		return p.liveness
	}
	return p.readiness
}

// started reports whether the startup probe (if any) has succeeded.
func (p *containerProbes) started() bool { return p.startup == nil || p.startup.result == ProbeSuccess }

// ready reports readiness: started and the readiness probe (if any) passing.
func (p *containerProbes) ready() bool {
	return p.started() && (p.readiness == nil || p.readiness.result == ProbeSuccess)
}

// runProbes runs the planned probes in parallel, records their results and
// carries out what planProbeKills decides of them.
func (w *Worker) runProbes(ctx context.Context, plan []action) {
	now := w.cfg.Clock.Now()
	type job struct {
		a     action
		state *probeState
		ok    bool
		msg   string
	}
	jobs := make([]*job, 0, len(plan))
	for _, a := range plan {
		if a.kind == actProbe {
			jobs = append(jobs, &job{a: a, state: w.probesFor(a.container, a.status).of(a.probe)})
		}
	}
	host := w.probeHost()
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			t := ProbeTarget{ContainerID: j.a.status.Id, Container: j.a.container, Host: host}
			j.ok, j.msg = w.cfg.Handler.Probe(ctx, t, j.state.spec, j.state.timeout)
		})
	}
	wg.Wait()
	outcomes := make([]probeOutcome, 0, len(jobs))
	for _, j := range jobs {
		changed := j.state.observe(j.ok, j.msg, now)
		if !j.ok {
			w.event("Warning", "Unhealthy", fmt.Sprintf("%s probe failed: %s", j.state.kind, j.msg))
		}
		outcomes = append(outcomes, probeOutcome{container: j.a.container, status: j.a.status, kind: j.state.kind,
			failed: changed && j.state.result == ProbeFailure})
	}
	w.act(ctx, planProbeKills(outcomes))
}
