package cri

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A stop with no grace period kills at once: no stop signal first (Docker's
// stop with a zero timeout sends it and waits on it before killing). A
// container that never ran is stopped as before.
func TestStopWithoutGraceKillsAtOnce(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("kill")
	running := h.createContainer(sb, "running")
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: running}); err != nil {
		t.Fatal(err)
	}
	created := h.createContainer(sb, "created")
	stops, kills := h.fake.CallCount("StopContainer"), h.fake.CallCount("KillContainer")
	if _, err := h.svc.StopContainer(h.ctx, &runtimeapi.StopContainerRequest{ContainerId: running, Timeout: 0}); err != nil {
		t.Fatal(err)
	}
	if n := h.fake.CallCount("KillContainer") - kills; n != 1 {
		t.Errorf("%d kills for a stop without grace, want 1", n)
	}
	if n := h.fake.CallCount("StopContainer") - stops; n != 0 {
		t.Errorf("%d Docker stops (stop signal first) for a stop without grace, want 0", n)
	}
	st, err := h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: running})
	if err != nil || st.Status.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Errorf("after the kill: %v %v", st.GetStatus().GetState(), err)
	}
	if _, err := h.svc.StopContainer(h.ctx, &runtimeapi.StopContainerRequest{ContainerId: created, Timeout: 0}); err != nil {
		t.Errorf("stop without grace of a container that never ran: %v", err)
	}
	// With a grace period, Docker's stop (the stop signal, then the kill).
	other := h.createContainer(sb, "graceful")
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: other}); err != nil {
		t.Fatal(err)
	}
	stops = h.fake.CallCount("StopContainer")
	if _, err := h.svc.StopContainer(h.ctx, &runtimeapi.StopContainerRequest{ContainerId: other, Timeout: 2}); err != nil {
		t.Fatal(err)
	}
	if n := h.fake.CallCount("StopContainer") - stops; n != 1 {
		t.Errorf("%d Docker stops for a stop with grace, want 1", n)
	}
}

// StopPodSandbox kills the pause container at once, as a stop without
// grace does an app container: one kill, no Docker stop.
func TestStopPodSandboxKillsThePause(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("pause-kill")
	stops, kills := h.fake.CallCount("StopContainer"), h.fake.CallCount("KillContainer")
	if _, err := h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	if n := h.fake.CallCount("KillContainer") - kills; n != 1 {
		t.Errorf("%d kills for the sandbox's stop, want 1", n)
	}
	if n := h.fake.CallCount("StopContainer") - stops; n != 0 {
		t.Errorf("%d Docker stops for the sandbox's stop, want 0", n)
	}
	st, err := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
	if err != nil || st.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("after the stop: %v %v", st.GetStatus().GetState(), err)
	}
	// Again: already stopped, nothing more to do.
	if _, err := h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	if n := h.fake.CallCount("KillContainer") - kills; n != 1 {
		t.Errorf("%d kills after a second stop, want 1", n)
	}
}
