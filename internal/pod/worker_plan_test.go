package pod

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The plans are pure: spec, observation and clock in, actions out. These
// tables hold the kubelet's decisions without a runtime.

var planNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// waits is a back-off in which the named keys still wait.
type waits map[string]time.Duration

func (b waits) InBackoff(key string, _, _ time.Time) (bool, time.Duration) {
	d, ok := b[key]
	return ok, d
}
func (b waits) Delay(key string) time.Duration { return b[key] }

func running(name, id string) *runtimeapi.ContainerStatus {
	return &runtimeapi.ContainerStatus{Id: id, Metadata: &runtimeapi.ContainerMetadata{Name: name},
		State: runtimeapi.ContainerState_CONTAINER_RUNNING, StartedAt: planNow.Add(-time.Hour).UnixNano()}
}

func exited(name, id string, attempt uint32, code int32) *runtimeapi.ContainerStatus {
	return &runtimeapi.ContainerStatus{Id: id, Metadata: &runtimeapi.ContainerMetadata{Name: name, Attempt: attempt},
		State: runtimeapi.ContainerState_CONTAINER_EXITED, ExitCode: code, FinishedAt: planNow.Add(-time.Minute).UnixNano()}
}

func created(name, id string) *runtimeapi.ContainerStatus {
	return &runtimeapi.ContainerStatus{Id: id, Metadata: &runtimeapi.ContainerMetadata{Name: name},
		State: runtimeapi.ContainerState_CONTAINER_CREATED}
}

// show renders a plan as "kind:container[/detail]" steps.
func show(plan []action) string {
	var out []string
	for _, a := range plan {
		name := ""
		if a.container != nil {
			name = a.container.Name
		}
		s := map[actionKind]string{actStart: "start", actStartCreated: "start-created", actRestart: "restart",
			actBackOff: "back-off", actFailInit: "fail-init", actInitialized: "initialized", actProbe: "probe", actKill: "kill"}[a.kind]
		if name != "" {
			s += ":" + name
		}
		switch a.kind {
		case actStart, actRestart:
			s += fmt.Sprintf("/%d", a.attempt)
		case actProbe:
			s += "/" + lower(a.probe)
		case actKill:
			s += "/" + a.reason
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func specPod(policy corev1.RestartPolicy, inits, apps []corev1.Container) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: policy, InitContainers: inits, Containers: apps}}
	p.Name, p.UID = "web", "uid-web"
	return p
}

func ctrs(names ...string) []corev1.Container {
	var out []corev1.Container
	for _, n := range names {
		out = append(out, corev1.Container{Name: n, Image: "busybox"})
	}
	return out
}

func sidecar(name string, startup bool) corev1.Container {
	always := corev1.ContainerRestartPolicyAlways
	c := corev1.Container{Name: name, Image: "busybox", RestartPolicy: &always}
	if startup {
		c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	}
	return c
}

func TestPlanContainers(t *testing.T) {
	type mem struct {
		initialized bool
		next        map[string]uint32
	}
	cases := []struct {
		name    string
		pod     *corev1.Pod
		conts   containerSet
		mem     mem
		backoff waits
		want    string
	}{
		{"first init container first", specPod(corev1.RestartPolicyAlways, ctrs("i1", "i2"), ctrs("app")),
			containerSet{}, mem{}, nil, "start:i1/0"},
		{"the next init container once one succeeded", specPod(corev1.RestartPolicyAlways, ctrs("i1", "i2"), ctrs("app")),
			containerSet{"i1": exited("i1", "a", 0, 0)}, mem{}, nil, "start:i2/0"},
		{"a running init container is waited for", specPod(corev1.RestartPolicyAlways, ctrs("i1", "i2"), ctrs("app")),
			containerSet{"i1": running("i1", "a")}, mem{}, nil, ""},
		{"a failed init container fails the pod under Never", specPod(corev1.RestartPolicyNever, ctrs("i1"), ctrs("app")),
			containerSet{"i1": exited("i1", "a", 0, 1)}, mem{}, nil, "fail-init:i1"},
		{"and is retried otherwise (Always is OnFailure for init)", specPod(corev1.RestartPolicyAlways, ctrs("i1"), ctrs("app")),
			containerSet{"i1": exited("i1", "a", 2, 1)}, mem{}, nil, "restart:i1/3"},
		{"within its back-off", specPod(corev1.RestartPolicyOnFailure, ctrs("i1"), ctrs("app")),
			containerSet{"i1": exited("i1", "a", 2, 1)}, mem{}, waits{"uid-web/i1": 20 * time.Second}, "back-off:i1"},
		{"init done: recorded, then the apps", specPod(corev1.RestartPolicyAlways, ctrs("i1"), ctrs("a", "b")),
			containerSet{"i1": exited("i1", "x", 0, 0)}, mem{}, nil, "initialized start:a/0 start:b/0"},
		{"once initialized, init containers are left alone", specPod(corev1.RestartPolicyAlways, ctrs("i1"), ctrs("a")),
			containerSet{"i1": exited("i1", "x", 0, 1), "a": running("a", "y")}, mem{initialized: true}, nil, ""},
		{"a new sandbox goes on counting attempts", specPod(corev1.RestartPolicyAlways, nil, ctrs("a")),
			containerSet{}, mem{initialized: true, next: map[string]uint32{"a": 4}}, nil, "start:a/4"},
		{"a created instance is started", specPod(corev1.RestartPolicyAlways, nil, ctrs("a")),
			containerSet{"a": created("a", "x")}, mem{initialized: true}, nil, "start-created:a"},
		{"Never: an exited app stays", specPod(corev1.RestartPolicyNever, nil, ctrs("a", "b")),
			containerSet{"a": exited("a", "x", 0, 0), "b": exited("b", "y", 0, 3)}, mem{initialized: true}, nil, ""},
		{"OnFailure: only the failed one restarts", specPod(corev1.RestartPolicyOnFailure, nil, ctrs("a", "b")),
			containerSet{"a": exited("a", "x", 0, 0), "b": exited("b", "y", 1, 3)}, mem{initialized: true}, nil, "restart:b/2"},
		{"Always: a completed app restarts too", specPod(corev1.RestartPolicyAlways, nil, ctrs("a")),
			containerSet{"a": exited("a", "x", 0, 0)}, mem{initialized: true}, nil, "restart:a/1"},
		{"a sidecar starts with the init containers and holds the next", specPod(corev1.RestartPolicyAlways,
			[]corev1.Container{sidecar("side", false), ctrs("i1")[0]}, ctrs("a")), containerSet{}, mem{}, nil, "start:side/0"},
		{"a running sidecar lets the next one start", specPod(corev1.RestartPolicyAlways,
			[]corev1.Container{sidecar("side", false), ctrs("i1")[0]}, ctrs("a")),
			containerSet{"side": running("side", "s")}, mem{}, nil, "start:i1/0"},
		{"until its startup probe succeeded", specPod(corev1.RestartPolicyAlways,
			[]corev1.Container{sidecar("side", true), ctrs("i1")[0]}, ctrs("a")),
			containerSet{"side": running("side", "s")}, mem{}, nil, ""},
		{"an exited sidecar restarts, also after init", specPod(corev1.RestartPolicyNever,
			[]corev1.Container{sidecar("side", false)}, ctrs("a")),
			containerSet{"side": exited("side", "s", 0, 0), "a": running("a", "x")}, mem{initialized: true}, nil, "restart:side/1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemory()
			m.initialized = tc.mem.initialized
			for k, v := range tc.mem.next {
				m.nextAttempt[k] = v
			}
			b := tc.backoff
			if b == nil {
				b = waits{}
			}
			got := show(planContainers(tc.pod, observed{containers: tc.conts, mem: &m, backoff: b}, planNow))
			if got != tc.want {
				t.Errorf("plan %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlanRestartBackOffMessage(t *testing.T) {
	pod := specPod(corev1.RestartPolicyAlways, nil, ctrs("a"))
	m := newMemory()
	m.initialized = true
	plan := planContainers(pod, observed{containers: containerSet{"a": exited("a", "x", 3, 1)}, mem: &m,
		backoff: waits{"uid-web/a": 40 * time.Second}}, planNow)
	if len(plan) != 1 || plan[0].reason != "CrashLoopBackOff" || plan[0].message != "back-off 40s restarting failed container=a pod=web" {
		t.Fatalf("plan %+v", plan)
	}
}

func TestPlanProbes(t *testing.T) {
	probe := &corev1.Probe{PeriodSeconds: 10, ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	delayed := *probe
	delayed.InitialDelaySeconds = 7200
	app := func(startup, liveness, readiness *corev1.Probe) []corev1.Container {
		return []corev1.Container{{Name: "a", StartupProbe: startup, LivenessProbe: liveness, ReadinessProbe: readiness}}
	}
	cases := []struct {
		name   string
		pod    *corev1.Pod
		conts  containerSet
		killed bool
		setup  func(p *containerProbes)
		want   string
	}{
		{"the startup probe alone until it succeeds", specPod(corev1.RestartPolicyAlways, nil, app(probe, probe, probe)),
			containerSet{"a": running("a", "x")}, false, nil, "probe:a/startup"},
		{"then liveness and readiness", specPod(corev1.RestartPolicyAlways, nil, app(probe, probe, probe)),
			containerSet{"a": running("a", "x")}, false, func(p *containerProbes) { p.startup.result = ProbeSuccess },
			"probe:a/liveness probe:a/readiness"},
		{"not before the initial delay", specPod(corev1.RestartPolicyAlways, nil, app(nil, &delayed, probe)),
			containerSet{"a": running("a", "x")}, false, nil, "probe:a/readiness"},
		{"not again within the period", specPod(corev1.RestartPolicyAlways, nil, app(nil, probe, nil)),
			containerSet{"a": running("a", "x")}, false, func(p *containerProbes) { p.liveness.lastRun = planNow.Add(-5 * time.Second) }, ""},
		{"not a container being stopped", specPod(corev1.RestartPolicyAlways, nil, app(nil, probe, probe)),
			containerSet{"a": running("a", "x")}, true, nil, ""},
		{"not one that is not running", specPod(corev1.RestartPolicyAlways, nil, app(nil, probe, probe)),
			containerSet{"a": exited("a", "x", 0, 0)}, false, nil, ""},
		{"sidecars too", specPod(corev1.RestartPolicyAlways, []corev1.Container{sidecar("side", true)}, nil),
			containerSet{"side": running("side", "s")}, false, nil, "probe:side/startup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemory()
			for name, st := range tc.conts {
				c := &tc.pod.Spec.Containers
				if name == "side" {
					c = &tc.pod.Spec.InitContainers
				}
				if st.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
					p := newContainerProbes(&(*c)[0], st, planNow)
					if tc.setup != nil {
						tc.setup(p)
					}
					m.probes[st.Id] = p
				}
				if tc.killed {
					m.killed[st.Id] = "Unhealthy"
				}
			}
			if got := show(planProbes(tc.pod, observed{containers: tc.conts, mem: &m, backoff: waits{}}, planNow)); got != tc.want {
				t.Errorf("plan %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlanProbeKills(t *testing.T) {
	c := &corev1.Container{Name: "a"}
	st := running("a", "x")
	got := planProbeKills([]probeOutcome{
		{container: c, status: st, kind: Readiness, failed: true},
		{container: c, status: st, kind: Liveness, failed: false},
		{container: c, status: st, kind: Liveness, failed: true},
		{container: c, status: st, kind: Startup, failed: true},
	})
	if s := show(got); s != "kill:a/Unhealthy kill:a/Unhealthy" {
		t.Fatalf("plan %q", s)
	}
	if got[0].message != "Container a failed liveness probe, will be restarted" {
		t.Errorf("message %q", got[0].message)
	}
}

func TestPlanTerminal(t *testing.T) {
	pod := specPod(corev1.RestartPolicyNever, []corev1.Container{sidecar("s1", false), sidecar("s2", false), ctrs("i")[0]}, ctrs("a"))
	got := show(planTerminal(pod, containerSet{"s1": running("s1", "1"), "s2": running("s2", "2"), "i": exited("i", "3", 0, 0)}))
	if got != "kill:s2/Completed kill:s1/Completed" {
		t.Fatalf("plan %q: the running sidecars, last first", got)
	}
}

func TestPlanSandbox(t *testing.T) {
	sb := func(id string, attempt uint32, ready bool, created int64) *runtimeapi.PodSandbox {
		st := runtimeapi.PodSandboxState_SANDBOX_NOTREADY
		if ready {
			st = runtimeapi.PodSandboxState_SANDBOX_READY
		}
		return &runtimeapi.PodSandbox{Id: id, Metadata: &runtimeapi.PodSandboxMetadata{Attempt: attempt}, State: st, CreatedAt: created}
	}
	ready := &runtimeapi.PodSandboxStatus{State: runtimeapi.PodSandboxState_SANDBOX_READY}
	notReady := &runtimeapi.PodSandboxStatus{State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}
	cases := []struct {
		name    string
		current string
		attempt uint32
		seen    sandboxSeen
		want    sandboxPlan
	}{
		{"none: create the first", "", 0, sandboxSeen{}, sandboxPlan{create: true}},
		{"adopt the newest ready one", "", 0, sandboxSeen{listed: []*runtimeapi.PodSandbox{sb("old", 1, true, 1), sb("new", 2, true, 2), sb("dead", 3, false, 3)}},
			sandboxPlan{adopt: "new", attempt: 2}},
		{"all dead: a new attempt, counting on", "", 0, sandboxSeen{listed: []*runtimeapi.PodSandbox{sb("a", 1, false, 1), sb("b", 4, false, 2)}},
			sandboxPlan{attempt: 5, changed: true, carry: []string{"a", "b"}, create: true}},
		{"the current one ready: keep it", "cur", 2, sandboxSeen{current: ready}, sandboxPlan{attempt: 2}},
		{"the current one not ready: stop and replace it", "cur", 2, sandboxSeen{current: notReady},
			sandboxPlan{attempt: 3, changed: true, stop: "cur", carry: []string{"cur"}, create: true}},
		{"the current one gone: replace it", "cur", 2, sandboxSeen{},
			sandboxPlan{attempt: 3, changed: true, stop: "cur", carry: []string{"cur"}, create: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemory()
			m.sandboxID, m.sandboxAttempt = tc.current, tc.attempt
			if got := planSandbox(&m, tc.seen); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("plan %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPlanImage(t *testing.T) {
	img := &runtimeapi.Image{Id: "sha256:x"}
	with := func(policy corev1.PullPolicy, image string) *corev1.Container {
		return &corev1.Container{Name: "a", Image: image, ImagePullPolicy: policy}
	}
	cases := []struct {
		name    string
		c       *corev1.Container
		present *runtimeapi.Image
		failed  bool
		backoff waits
		want    imageStep
	}{
		{"IfNotPresent, present", with(corev1.PullIfNotPresent, "b:1"), img, false, nil, imageUse},
		{"IfNotPresent, absent", with(corev1.PullIfNotPresent, "b:1"), nil, false, nil, imagePull},
		{"Never, absent", with(corev1.PullNever, "b:1"), nil, false, nil, imageNeverPull},
		{"Always, present", with(corev1.PullAlways, "b:1"), img, false, nil, imagePull},
		{":latest pulls by default", with("", "b:latest"), img, false, nil, imagePull},
		{"a failed pull backs off", with(corev1.PullIfNotPresent, "b:1"), nil, true, waits{"pull/b:1": time.Minute}, imagePullBackOff},
		{"and is retried after", with(corev1.PullIfNotPresent, "b:1"), nil, true, waits{}, imagePull},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemory()
			if tc.failed {
				m.pullFailed[tc.c.Image] = planNow.Add(-time.Second)
			}
			b := tc.backoff
			if b == nil {
				b = waits{}
			}
			if got := planImage(tc.c, tc.present, &m, b, planNow); got != tc.want {
				t.Errorf("step %d, want %d", got, tc.want)
			}
		})
	}
}
