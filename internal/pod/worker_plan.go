package pod

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A sync is observe → plan → act, as the kubelet's computePodActions then
// SyncPod: the CRI is read (observe), a pure function of the pod's spec,
// that observation and the clock decides what to do (the plan… functions
// here, table-tested without a runtime), and the executor (worker_act.go)
// does it, one CRI call at a time, holding no lock.

// memory is what the worker knows that the CRI does not say. Only the
// goroutine that runs the worker's syncs touches it.
type memory struct {
	sandboxID      string
	sandboxCfg     *runtimeapi.PodSandboxConfig
	sandboxAttempt uint32
	podIP          string
	volumes        map[string]Volume
	probes         map[string]*containerProbes // by container id
	waiting        map[string]waitReason       // by container name
	killed         map[string]string           // container id → why dockerlet stopped it
	pullFailed     map[string]time.Time        // image → last failure
	initFailed     bool
	sandboxFailed  time.Time         // last failed sandbox creation
	nextAttempt    map[string]uint32 // first attempt in a new sandbox, by container
	initialized    bool              // the init containers of this sandbox are done
}

func newMemory() memory {
	return memory{
		probes:      map[string]*containerProbes{},
		waiting:     map[string]waitReason{},
		killed:      map[string]string{},
		pullFailed:  map[string]time.Time{},
		nextAttempt: map[string]uint32{},
	}
}

type waitReason struct{ reason, message string }

// backoffView is the crash-loop back-off as a plan reads it.
type backoffView interface {
	InBackoff(key string, eventTime, now time.Time) (bool, time.Duration)
	Delay(key string) time.Duration
}

// observed is one sync's view of the pod: the latest instance of each of
// its containers in the current sandbox (containerSet, from the CRI) and
// what the worker remembers.
type observed struct {
	containers containerSet
	mem        *memory // read only in a plan
	backoff    backoffView
}

// actionKind is what the executor does for one container.
type actionKind int

const (
	// actStart pulls, creates and starts attempt of container.
	actStart actionKind = iota + 1
	// actStartCreated starts the instance status left created (a start
	// that failed or was interrupted).
	actStartCreated
	// actRestart starts attempt (the next) after the exited instance
	// status, which stays (for logs --previous); older ones go.
	actRestart
	// actBackOff records that a restart waits for its back-off.
	actBackOff
	// actFailInit fails the pod: an init container failed under Never.
	actFailInit
	// actInitialized records that the init containers are done.
	actInitialized
	// actProbe runs probe of the running instance status.
	actProbe
	// actKill stops the running instance status: preStop hook, then the
	// stop signal within the grace period.
	actKill
)

// action is one step of a plan.
type action struct {
	kind      actionKind
	container *corev1.Container
	status    *runtimeapi.ContainerStatus // the instance acted on (nil for actStart)
	attempt   uint32                      // actStart, actRestart
	probe     ProbeKind                   // actProbe
	// reason and message: actKill's (why dockerlet stopped it) and
	// actBackOff's (the waiting reason).
	reason, message string
}

// planContainers decides, from the pod's spec and what a sync observed,
// what to do with its containers: init containers one at a time in order
// (sidecars started with them and kept running), then the app containers
// per the restart policy, restarts subject to the crash-loop back-off.
func planContainers(pod *corev1.Pod, obs observed, now time.Time) []action {
	var plan []action
	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		st := obs.containers[c.Name]
		if isSidecar(c) {
			a, started := planSidecar(pod, c, st, obs, now)
			plan = append(plan, a...)
			if !started && !obs.mem.initialized {
				initDone = false
				break
			}
			continue
		}
		if obs.mem.initialized {
			continue
		}
		switch {
		case st == nil:
			plan = append(plan, action{kind: actStart, container: c, attempt: obs.mem.nextAttempt[c.Name]})
		case st.State == runtimeapi.ContainerState_CONTAINER_CREATED:
			plan = append(plan, action{kind: actStartCreated, container: c, status: st})
		case st.State == runtimeapi.ContainerState_CONTAINER_EXITED:
			if st.ExitCode == 0 {
				continue
			}
			// A failed init container fails the pod under Never; otherwise
			// it is retried (Always counts as OnFailure for init).
			if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				plan = append(plan, action{kind: actFailInit, container: c, status: st})
			} else {
				plan = append(plan, planRestart(pod, c, st, obs, now))
			}
		}
		// Not done (or running, or unknown): wait for it.
		initDone = false
		break
	}
	if !initDone {
		return plan
	}
	if !obs.mem.initialized {
		plan = append(plan, action{kind: actInitialized})
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		st := obs.containers[c.Name]
		switch {
		case st == nil:
			plan = append(plan, action{kind: actStart, container: c, attempt: obs.mem.nextAttempt[c.Name]})
		case st.State == runtimeapi.ContainerState_CONTAINER_CREATED:
			plan = append(plan, action{kind: actStartCreated, container: c, status: st})
		case st.State == runtimeapi.ContainerState_CONTAINER_EXITED:
			if shouldRestart(pod.Spec.RestartPolicy, st.ExitCode) {
				plan = append(plan, planRestart(pod, c, st, obs, now))
			}
		}
	}
	return plan
}

// planSidecar keeps a sidecar running; started is true once it runs and
// its startup probe (if any) has succeeded.
func planSidecar(pod *corev1.Pod, c *corev1.Container, st *runtimeapi.ContainerStatus, obs observed, now time.Time) (plan []action, started bool) {
	switch {
	case st == nil:
		return []action{{kind: actStart, container: c, attempt: obs.mem.nextAttempt[c.Name]}}, false
	case st.State == runtimeapi.ContainerState_CONTAINER_CREATED:
		return []action{{kind: actStartCreated, container: c, status: st}}, false
	case st.State == runtimeapi.ContainerState_CONTAINER_EXITED:
		return []action{planRestart(pod, c, st, obs, now)}, false
	case st.State == runtimeapi.ContainerState_CONTAINER_RUNNING:
		return nil, probesOf(obs.mem, c, st, now).started()
	}
	return nil, false
}

// planRestart restarts an exited instance unless it is in back-off.
func planRestart(pod *corev1.Pod, c *corev1.Container, st *runtimeapi.ContainerStatus, obs observed, now time.Time) action {
	key := backoffKey(pod, c.Name)
	if in, _ := obs.backoff.InBackoff(key, time.Unix(0, st.FinishedAt), now); in {
		// The message names the delay, not the time left, so that it does
		// not change (and get reported) every second.
		return action{kind: actBackOff, container: c, status: st, reason: "CrashLoopBackOff",
			message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", obs.backoff.Delay(key), c.Name, pod.Name)}
	}
	attempt := uint32(0)
	if st.Metadata != nil {
		attempt = st.Metadata.Attempt + 1
	}
	return action{kind: actRestart, container: c, status: st, attempt: attempt}
}

// planProbes lists the probes due at now: of every running sidecar and app
// container not being stopped, the startup probe alone until it succeeds,
// then liveness and readiness.
func planProbes(pod *corev1.Pod, obs observed, now time.Time) []action {
	var plan []action
	for _, c := range probed(pod) {
		st := obs.containers[c.Name]
		if st == nil || st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		if _, dying := obs.mem.killed[st.Id]; dying {
			continue
		}
		p := probesOf(obs.mem, c, st, now)
		if !p.started() {
			if p.startup.due(now) {
				plan = append(plan, action{kind: actProbe, container: c, status: st, probe: Startup})
			}
			continue
		}
		for _, s := range []*probeState{p.liveness, p.readiness} {
			if s != nil && s.due(now) {
				plan = append(plan, action{kind: actProbe, container: c, status: st, probe: s.kind})
			}
		}
	}
	return plan
}

// probeOutcome is one probe run: its container and whether the probe's
// reported result changed to Failure with it.
type probeOutcome struct {
	container *corev1.Container
	status    *runtimeapi.ContainerStatus
	kind      ProbeKind
	failed    bool // the result turned Failure
}

// planProbeKills stops the containers whose liveness or startup probe
// has just failed, as the kubelet restarts them.
func planProbeKills(outcomes []probeOutcome) []action {
	var plan []action
	for _, o := range outcomes {
		if !o.failed || (o.kind != Liveness && o.kind != Startup) {
			continue
		}
		plan = append(plan, action{kind: actKill, container: o.container, status: o.status, reason: "Unhealthy",
			message: fmt.Sprintf("Container %s failed %s probe, will be restarted", o.container.Name, lower(o.kind))})
	}
	return plan
}

// planTerminal stops the running sidecars, last first, once the app
// containers are done for good, as the kubelet does.
func planTerminal(pod *corev1.Pod, conts containerSet) []action {
	var plan []action
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		c := &pod.Spec.InitContainers[i]
		if st := conts[c.Name]; isSidecar(c) && st != nil && st.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			plan = append(plan, action{kind: actKill, container: c, status: st, reason: "Completed", message: "the pod's containers finished"})
		}
	}
	return plan
}

// imageStep is what to do for a container's image.
type imageStep int

const (
	imagePull        imageStep = iota // pull it
	imageUse                          // create from the present image
	imageNeverPull                    // absent, and the pull policy is Never
	imagePullBackOff                  // a pull failed lately: wait
)

// planImage applies c's pull policy to the image as present (nil: absent
// or not looked up, under Always); pull failures back off as the
// kubelet's do.
func planImage(c *corev1.Container, present *runtimeapi.Image, mem *memory, backoff backoffView, now time.Time) imageStep {
	policy := PullPolicy(c)
	if policy != corev1.PullAlways && present != nil {
		return imageUse
	}
	if policy == corev1.PullNever {
		return imageNeverPull
	}
	if last, ok := mem.pullFailed[c.Image]; ok {
		if in, _ := backoff.InBackoff(pullKey(c.Image), last, now); in {
			return imagePullBackOff
		}
	}
	return imagePull
}

func pullKey(image string) string { return "pull/" + image }

// sandboxSeen is what a sync saw of the pod's sandboxes: with no current
// sandbox, every sandbox labelled with the pod's UID (listed); with one,
// its status (nil: gone).
type sandboxSeen struct {
	listed  []*runtimeapi.PodSandbox
	current *runtimeapi.PodSandboxStatus
}

// sandboxPlan is what to do about the pod's sandbox.
type sandboxPlan struct {
	// adopt is an earlier sandbox, ready, to carry on with.
	adopt   string
	attempt uint32 // the sandbox attempt from now on
	// changed: the sandbox died; its containers are restarted in a new one.
	changed bool
	// stop is the current sandbox, not ready: stopped before it is
	// replaced.
	stop string
	// carry are dead sandboxes whose containers' attempts the new sandbox
	// goes on counting from.
	carry []string
	// create makes a new sandbox; otherwise the current (or adopted) one
	// is ready.
	create bool
}

// planSandbox adopts the pod's ready sandbox or creates one. A sandbox
// that died takes the pod's containers with it: they are restarted in a
// new sandbox, as the kubelet does.
func planSandbox(mem *memory, seen sandboxSeen) sandboxPlan {
	p := sandboxPlan{attempt: mem.sandboxAttempt}
	if mem.sandboxID == "" {
		var best *runtimeapi.PodSandbox
		for _, sb := range seen.listed {
			if sb.Metadata != nil && sb.Metadata.Attempt >= p.attempt {
				p.attempt = sb.Metadata.Attempt
			}
			if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY && (best == nil || sb.CreatedAt > best.CreatedAt) {
				best = sb
			}
		}
		switch {
		case best != nil:
			p.adopt = best.Id
			if best.Metadata != nil {
				p.attempt = best.Metadata.Attempt
			}
			return p
		case len(seen.listed) > 0:
			for _, sb := range seen.listed {
				p.carry = append(p.carry, sb.Id)
			}
			p.attempt++
			p.changed = true
		}
		p.create = true
		return p
	}
	if seen.current != nil && seen.current.State == runtimeapi.PodSandboxState_SANDBOX_READY {
		return p
	}
	// Gone or not ready: replace it.
	p.changed, p.stop, p.carry = true, mem.sandboxID, []string{mem.sandboxID}
	p.attempt++
	p.create = true
	return p
}

// probesOf is the probe state of a running instance: the one the worker
// keeps, or the one it would start with now.
func probesOf(mem *memory, c *corev1.Container, st *runtimeapi.ContainerStatus, now time.Time) *containerProbes {
	if p, ok := mem.probes[st.Id]; ok {
		return p
	}
	return newContainerProbes(c, st, now)
}

func newContainerProbes(c *corev1.Container, st *runtimeapi.ContainerStatus, now time.Time) *containerProbes {
	started := time.Unix(0, st.StartedAt)
	if st.StartedAt == 0 {
		started = now
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
	return p
}

// isSidecar reports a restartable init container (restartPolicy: Always):
// it starts in order with the init containers and runs beside the app.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func shouldRestart(p corev1.RestartPolicy, exitCode int32) bool {
	switch p {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

func backoffKey(p *corev1.Pod, container string) string { return string(p.UID) + "/" + container }

// probed lists the containers whose probes run: the sidecars and the app
// containers.
func probed(pod *corev1.Pod) []*corev1.Container {
	var out []*corev1.Container
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; isSidecar(c) {
			out = append(out, c)
		}
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
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
