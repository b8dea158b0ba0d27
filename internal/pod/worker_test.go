package pod

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fakeHandler answers probes from a table and records hooks.
type fakeHandler struct {
	mu      sync.Mutex
	probes  map[string]bool // "<container>/<handler kind>" → ok; absent: ok
	hooks   []string
	hookErr error
	ran     []string
}

func (h *fakeHandler) Probe(_ context.Context, t ProbeTarget, p *corev1.Probe, _ time.Duration) (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := t.Container.Name + "/" + probeAction(p)
	h.ran = append(h.ran, k)
	ok, set := h.probes[k]
	if !set {
		ok = true
	}
	if !ok {
		return false, "scripted failure"
	}
	return true, ""
}

func probeAction(p *corev1.Probe) string {
	switch {
	case p.Exec != nil:
		return "exec"
	case p.HTTPGet != nil:
		return "http"
	case p.TCPSocket != nil:
		return "tcp"
	}
	return "grpc"
}

func (h *fakeHandler) set(k string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probes[k] = ok
}

func (h *fakeHandler) Hook(_ context.Context, t ProbeTarget, lh *corev1.LifecycleHandler, _ time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hooks = append(h.hooks, t.Container.Name)
	return h.hookErr
}

type harness struct {
	t     *testing.T
	clock *fakeClock
	rt    *fakeRuntime
	h     *fakeHandler
	w     *Worker
}

func newHarness(t *testing.T, doc string) *harness {
	t.Helper()
	m, err := Parse("t.yaml", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	p := m.Pods[0]
	p.UID = types.UID("uid-" + p.Name)
	clock := newFakeClock()
	rt := newFakeRuntime(clock)
	h := &fakeHandler{probes: map[string]bool{}}
	w := NewWorker(Config{Runtime: rt, StateDir: t.TempDir(), Clock: clock, Handler: h}, p, m, "src")
	return &harness{t: t, clock: clock, rt: rt, h: h, w: w}
}

func (h *harness) sync() PodStatus {
	h.w.Sync(context.Background())
	return h.w.Status()
}

func (h *harness) calls() string {
	h.rt.mu.Lock()
	defer h.rt.mu.Unlock()
	s := strings.Join(h.rt.calls, "\n")
	h.rt.calls = nil
	return s
}

func TestInitContainersRunInOrder(t *testing.T) {
	h := newHarness(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
  - {name: init1, image: busybox:1}
  - {name: init2, image: busybox:1}
  containers:
  - {name: app, image: busybox:1}
`)
	h.rt.images["busybox:1"] = true
	s := h.sync()
	if got := h.calls(); !strings.Contains(got, "StartContainer init1/0") || strings.Contains(got, "init2") || strings.Contains(got, "app") {
		t.Fatalf("first sync: %s", got)
	}
	if s.Phase != corev1.PodPending || s.DisplayStatus() != "Init:0/2" {
		t.Fatalf("phase %s status %s", s.Phase, s.DisplayStatus())
	}
	h.sync() // init1 still running: nothing new
	if got := h.calls(); strings.Contains(got, "Create") {
		t.Fatalf("while init1 runs: %s", got)
	}
	// init1 fails: retried (restartPolicy Always counts as OnFailure), never init2.
	h.rt.exit("init1", 1)
	h.sync()
	if got := h.calls(); !strings.Contains(got, "CreateContainer init1/1") || strings.Contains(got, "init2") {
		t.Fatalf("after init1 failed: %s", got)
	}
	h.rt.exit("init1", 0)
	h.sync()
	if got := h.calls(); !strings.Contains(got, "CreateContainer init2/0") || strings.Contains(got, "app") {
		t.Fatalf("after init1 succeeded: %s", got)
	}
	h.rt.exit("init2", 0)
	s = h.sync()
	if got := h.calls(); !strings.Contains(got, "CreateContainer app/0") {
		t.Fatalf("after init2 succeeded: %s", got)
	}
	if s.Phase != corev1.PodRunning || !s.Ready || s.InitContainers[0].RestartCount != 1 || s.InitContainers[1].Reason != "Completed" {
		t.Fatalf("status: %+v", s)
	}
}

func TestInitFailureNeverFailsPod(t *testing.T) {
	h := newHarness(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  restartPolicy: Never
  initContainers: [{name: init, image: i:1}]
  containers: [{name: app, image: i:1}]
`)
	h.rt.exitOnStart["init"] = 2
	h.sync()
	s := h.sync()
	if s.Phase != corev1.PodFailed || !s.Terminal || s.InitContainers[0].ExitCode != 2 {
		t.Fatalf("status: %+v", s)
	}
	if got := h.calls(); strings.Contains(got, "app") {
		t.Fatalf("app started after failed init: %s", got)
	}
}

func TestRestartPolicyNeverExitCode(t *testing.T) {
	h := newHarness(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  restartPolicy: Never
  containers: [{name: app, image: i:1}]
`)
	h.rt.exitOnStart["app"] = 3
	h.sync()
	s := h.sync()
	if s.Phase != corev1.PodFailed || s.Containers[0].ExitCode != 3 || s.Containers[0].State != StateTerminated || s.Containers[0].Reason != "Error" {
		t.Fatalf("status: %+v", s.Containers[0])
	}
	if got := h.calls(); !strings.Contains(got, "StopPodSandbox") {
		t.Fatalf("finished pod's sandbox not stopped: %s", got)
	}
	h.clock.Advance(time.Hour)
	h.sync()
	if got := h.calls(); got != "" {
		t.Fatalf("terminal pod touched: %s", got)
	}
}

func TestRestartPolicies(t *testing.T) {
	for _, tt := range []struct {
		policy  string
		code    int32
		restart bool
		phase   corev1.PodPhase
	}{
		{"Always", 0, true, corev1.PodRunning},
		{"Always", 1, true, corev1.PodRunning},
		{"OnFailure", 0, false, corev1.PodSucceeded},
		{"OnFailure", 1, true, corev1.PodRunning},
		{"Never", 0, false, corev1.PodSucceeded},
		{"Never", 1, false, corev1.PodFailed},
	} {
		t.Run(tt.policy, func(t *testing.T) {
			h := newHarness(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  restartPolicy: "+tt.policy+"\n  containers: [{name: app, image: i:1}]\n")
			h.rt.exitOnStart["app"] = tt.code
			h.sync()
			h.calls()
			s := h.sync()
			restarted := strings.Contains(h.calls(), "CreateContainer app/1")
			if restarted != tt.restart {
				t.Errorf("restarted = %v, want %v", restarted, tt.restart)
			}
			if s.Phase != tt.phase {
				t.Errorf("phase = %s, want %s", s.Phase, tt.phase)
			}
		})
	}
}

func TestCrashLoopBackOff(t *testing.T) {
	h := newHarness(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: app, image: i:1}]\n")
	h.rt.exitOnStart["app"] = 1
	h.sync() // attempt 0 starts and exits
	h.sync() // immediate restart: attempt 1
	if got := h.calls(); !strings.Contains(got, "CreateContainer app/1") {
		t.Fatalf("first restart not immediate: %s", got)
	}
	for attempt, delay := range []time.Duration{10, 20, 40} {
		delay *= time.Second
		s := h.sync()
		if c := s.Containers[0]; c.State != StateWaiting || c.Reason != "CrashLoopBackOff" || c.ExitCode != 1 {
			t.Fatalf("attempt %d: %+v", attempt+1, c)
		}
		if s.DisplayStatus() != "CrashLoopBackOff" {
			t.Errorf("display status %q", s.DisplayStatus())
		}
		h.clock.Advance(delay - time.Second)
		h.sync()
		if got := h.calls(); strings.Contains(got, "CreateContainer") {
			t.Fatalf("restarted before %v: %s", delay, got)
		}
		h.clock.Advance(time.Second)
		h.sync()
		if got := h.calls(); !strings.Contains(got, "CreateContainer app/") {
			t.Fatalf("not restarted after %v: %s", delay, got)
		}
	}
	if s := h.w.Status(); s.Containers[0].RestartCount != 4 {
		t.Fatalf("restarts = %d", s.Containers[0].RestartCount)
	}
	// Only the previous instance is kept.
	if n := len(h.rt.containers); n != 2 {
		t.Fatalf("%d container instances kept, want 2", n)
	}
}

func TestLivenessFailureRestarts(t *testing.T) {
	h := newHarness(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  terminationGracePeriodSeconds: 4
  containers:
  - name: app
    image: i:1
    livenessProbe: {exec: {command: ["false"]}, periodSeconds: 1, failureThreshold: 2, initialDelaySeconds: 2}
    lifecycle: {preStop: {exec: {command: ["true"]}}}
`)
	h.h.set("app/exec", false)
	h.sync()
	if len(h.h.ran) != 0 {
		t.Fatalf("probe ran before initialDelaySeconds: %v", h.h.ran)
	}
	h.clock.Advance(2 * time.Second)
	h.sync() // failure 1
	h.calls()
	h.clock.Advance(time.Second)
	s := h.sync() // failure 2: killed
	got := h.calls()
	if !strings.Contains(got, "StopContainer") || !strings.Contains(got, "timeout=") {
		t.Fatalf("not killed: %s", got)
	}
	if len(h.h.hooks) != 1 {
		t.Fatalf("preStop hook not run: %v", h.h.hooks)
	}
	if s.Containers[0].Reason != "Unhealthy" || s.Containers[0].State != StateTerminated {
		t.Fatalf("status: %+v", s.Containers[0])
	}
	h.sync()
	if got := h.calls(); !strings.Contains(got, "CreateContainer app/1") {
		t.Fatalf("not restarted: %s", got)
	}
	found := false
	for _, e := range h.w.Status().Events {
		found = found || e.Reason == "Unhealthy"
	}
	if !found {
		t.Error("no Unhealthy event")
	}
}

func TestReadinessAndStartupGating(t *testing.T) {
	h := newHarness(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: app
    image: i:1
    startupProbe: {tcpSocket: {port: 80}, periodSeconds: 1}
    readinessProbe: {httpGet: {port: 80, path: /}, periodSeconds: 1}
`)
	h.h.set("app/tcp", false)
	s := h.sync()
	if s.Ready || s.Containers[0].Started {
		t.Fatalf("ready before startup: %+v", s.Containers[0])
	}
	for _, k := range h.h.ran {
		if k == "app/http" {
			t.Fatal("readiness probed before startup succeeded")
		}
	}
	h.h.set("app/tcp", true)
	h.clock.Advance(time.Second)
	s = h.sync()
	if !s.Containers[0].Started || s.Ready {
		t.Fatalf("after startup: %+v ready=%v", s.Containers[0], s.Ready)
	}
	h.clock.Advance(time.Second)
	s = h.sync()
	if !s.Ready || !s.Containers[0].Ready {
		t.Fatalf("not ready after readiness success: %+v", s.Containers[0])
	}
	h.h.set("app/http", false)
	for i := 0; i < 3; i++ {
		h.clock.Advance(time.Second)
		s = h.sync()
	}
	if s.Ready {
		t.Fatal("still ready after readiness failures")
	}
	if got := h.calls(); strings.Contains(got, "StopContainer") {
		t.Fatalf("readiness failure killed the container: %s", got)
	}
}

func TestPostStartHookFailureKills(t *testing.T) {
	h := newHarness(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: app, image: i:1, lifecycle: {postStart: {exec: {command: ["false"]}}}}
`)
	h.h.hookErr = context.DeadlineExceeded
	s := h.sync()
	if got := h.calls(); !strings.Contains(got, "StopContainer") {
		t.Fatalf("not killed: %s", got)
	}
	if s.Containers[0].Reason != "FailedPostStartHook" {
		t.Fatalf("reason: %+v", s.Containers[0])
	}
}

func TestImagePullPolicyAndSecrets(t *testing.T) {
	h := newHarness(t, `apiVersion: v1
kind: Secret
metadata: {name: reg}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths":{"127.0.0.1:5555":{"username":"u","password":"p"}}}'
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  imagePullSecrets: [{name: reg}, {name: missing}]
  containers:
  - {name: a, image: "127.0.0.1:5555/app:1"}
  - {name: b, image: "present:1"}
  - {name: c, image: "absent:1", imagePullPolicy: Never}
`)
	h.rt.images["present:1"] = true
	s := h.sync()
	if len(h.rt.pulls) != 1 || h.rt.pulls[0].Auth.GetUsername() != "u" || h.rt.pulls[0].Image.Image != "127.0.0.1:5555/app:1" {
		t.Fatalf("pulls: %v", h.rt.pulls)
	}
	if c := s.Containers[2]; c.Reason != "ErrImageNeverPull" {
		t.Fatalf("never-pull container: %+v", c)
	}
	if s.Containers[1].State != StateRunning {
		t.Fatalf("present image not used: %+v", s.Containers[1])
	}
}

func TestImagePullBackOff(t *testing.T) {
	h := newHarness(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: x:1}]\n")
	h.rt.pullErr = context.DeadlineExceeded
	s := h.sync()
	if s.Containers[0].Reason != "ErrImagePull" {
		t.Fatalf("%+v", s.Containers[0])
	}
	s = h.sync()
	if s.Containers[0].Reason != "ImagePullBackOff" || len(h.rt.pulls) != 1 {
		t.Fatalf("%+v pulls=%d", s.Containers[0], len(h.rt.pulls))
	}
	h.clock.Advance(BackoffInitial)
	h.rt.pullErr = nil
	s = h.sync()
	if s.Containers[0].State != StateRunning {
		t.Fatalf("%+v", s.Containers[0])
	}
}
