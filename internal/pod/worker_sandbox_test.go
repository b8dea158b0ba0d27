package pod

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestSandboxAdoptedAndRecreated(t *testing.T) {
	h := newHarness(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: i:1}]\n")
	h.rt.images["i:1"] = true
	h.sync()
	// A new worker (a restarted supervisor) adopts the running sandbox.
	w2 := NewWorker(h.w.cfg, h.w.pod, h.w.objs, "src")
	h.calls()
	w2.Sync(context.Background())
	if got := h.calls(); strings.Contains(got, "RunPodSandbox") || strings.Contains(got, "CreateContainer") {
		t.Fatalf("restarted supervisor re-created things: %s", got)
	}
	if s := w2.Status(); s.Phase != corev1.PodRunning || s.PodIP != "10.0.0.2" {
		t.Fatalf("adopted status: %+v", s)
	}
	// The sandbox dies: a new one with the next attempt.
	for _, sb := range h.rt.sandboxes {
		sb.State = 1 // NOTREADY
	}
	w2.Sync(context.Background())
	got := h.calls()
	if !strings.Contains(got, "RunPodSandbox") || !strings.Contains(got, "CreateContainer a/1") {
		t.Fatalf("sandbox not re-created, or the attempt not carried on: %s", got)
	}
	if s := w2.Status(); s.Containers[0].RestartCount != 1 {
		t.Fatalf("restart count: %+v", s.Containers[0])
	}
}

// failingSandboxes makes RunPodSandbox fail.
type failingSandboxes struct {
	*fakeRuntime
	runs int
}

func (f *failingSandboxes) RunPodSandbox(context.Context, *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	f.runs++
	return nil, errors.New("port is already allocated")
}

func TestSandboxFailureBacksOff(t *testing.T) {
	h := newHarness(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: i:1}]\n")
	fr := &failingSandboxes{fakeRuntime: h.rt}
	h.w.cfg.Runtime = fr
	s := h.sync()
	if s.Reason != "SandboxError" || len(s.Containers) != 1 || s.Containers[0].State != StateWaiting || s.DisplayStatus() != "SandboxError" {
		t.Fatalf("status: %+v", s)
	}
	h.sync()
	if fr.runs != 1 {
		t.Fatalf("retried within the back-off: %d runs", fr.runs)
	}
	h.clock.Advance(BackoffInitial)
	h.sync()
	if fr.runs != 2 {
		t.Fatalf("not retried after the back-off: %d runs", fr.runs)
	}
}

func TestSidecar(t *testing.T) {
	h := newHarness(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  restartPolicy: Never
  initContainers:
  - {name: proxy, image: i:1, restartPolicy: Always, startupProbe: {tcpSocket: {port: 80}, periodSeconds: 1}}
  - {name: setup, image: i:1}
  containers:
  - {name: app, image: i:1}
`)
	h.rt.images["i:1"] = true
	h.h.set("proxy/tcp", false)
	h.sync()
	if got := h.calls(); !strings.Contains(got, "StartContainer proxy/0") || strings.Contains(got, "setup") {
		t.Fatalf("first sync: %s", got)
	}
	h.sync()
	if got := h.calls(); strings.Contains(got, "setup") {
		t.Fatalf("setup started before the sidecar's startup probe passed: %s", got)
	}
	h.h.set("proxy/tcp", true)
	h.clock.Advance(time.Second)
	h.sync() // startup probe passes
	h.sync()
	if got := h.calls(); !strings.Contains(got, "StartContainer setup/0") {
		t.Fatalf("setup not started after the sidecar started: %s", got)
	}
	h.rt.exit("setup", 0)
	s := h.sync()
	if got := h.calls(); !strings.Contains(got, "StartContainer app/0") {
		t.Fatalf("app not started: %s", got)
	}
	if s.Phase != corev1.PodRunning || s.DisplayStatus() != "Running" || !s.InitContainers[0].Sidecar {
		t.Fatalf("status %s / %s: %+v", s.Phase, s.DisplayStatus(), s.InitContainers)
	}
	// The sidecar crashes: restarted beside the running app, which goes on.
	h.rt.exit("proxy", 1)
	h.sync()
	if got := h.calls(); !strings.Contains(got, "StartContainer proxy/1") || strings.Contains(got, "app") {
		t.Fatalf("sidecar restart: %s", got)
	}
	// The app finishes: the sidecar is stopped and the pod Succeeded,
	// whatever the sidecar's exit code.
	h.clock.Advance(time.Second)
	h.sync()
	h.rt.exit("app", 0)
	s = h.sync()
	if got := h.calls(); !strings.Contains(got, "StopContainer c") {
		t.Fatalf("sidecar not stopped: %s", got)
	}
	if s.Phase != corev1.PodSucceeded || s.InitContainers[0].State != StateTerminated {
		t.Fatalf("final: %s %+v", s.Phase, s.InitContainers[0])
	}
}

func TestEventsAggregate(t *testing.T) {
	h := newHarness(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: i:1}]\n")
	h.w.event("Warning", "Unhealthy", "probe failed")
	h.clock.Advance(time.Second)
	h.w.event("Normal", "Killing", "stop")
	h.clock.Advance(time.Second)
	h.w.event("Warning", "Unhealthy", "probe failed")
	evs := h.w.status.Events
	if len(evs) != 2 || evs[1].Reason != "Unhealthy" || evs[1].Count != 2 || !evs[1].First.Before(evs[1].Time) {
		t.Fatalf("events: %+v", evs)
	}
}
