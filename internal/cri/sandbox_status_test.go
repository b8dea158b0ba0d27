package cri

import (
	"fmt"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A kubelet with the EventedPLEG gate reads a pod's containers from
// PodSandboxStatus (it sets Timestamp): every container of that sandbox, in
// its current state, and none of another pod's.
func TestPodSandboxStatusCarriesContainerStatuses(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("evented")
	other := h.runSandbox("other")
	running := h.createContainer(sb, "running")
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: running}); err != nil {
		t.Fatal(err)
	}
	created := h.createContainer(sb, "created")
	h.createContainer(other, "elsewhere")

	states := func() (map[string]runtimeapi.ContainerState, int64) {
		t.Helper()
		before := time.Now().UnixNano()
		resp, err := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Timestamp < before || resp.Timestamp > time.Now().UnixNano() {
			t.Errorf("timestamp %d not within the call", resp.Timestamp)
		}
		got := map[string]runtimeapi.ContainerState{}
		for _, cs := range resp.ContainersStatuses {
			got[cs.Id] = cs.State
			if cs.Metadata == nil || cs.Metadata.Name == "" {
				t.Errorf("container %s without metadata", cs.Id)
			}
		}
		return got, resp.Timestamp
	}
	got, _ := states()
	want := map[string]runtimeapi.ContainerState{
		running: runtimeapi.ContainerState_CONTAINER_RUNNING,
		created: runtimeapi.ContainerState_CONTAINER_CREATED,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("container statuses %v, want %v", got, want)
	}

	if _, err := h.svc.StopContainer(h.ctx, &runtimeapi.StopContainerRequest{ContainerId: running}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.RemoveContainer(h.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: created}); err != nil {
		t.Fatal(err)
	}
	got, _ = states()
	want = map[string]runtimeapi.ContainerState{running: runtimeapi.ContainerState_CONTAINER_EXITED}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after stop and remove: %v, want %v", got, want)
	}

	// A restart (the next attempt of the same name) comes first.
	time.Sleep(time.Millisecond) // distinct creation times
	cfg := containerConfig("running")
	cfg.Metadata.Attempt++
	next, err := h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg, SandboxConfig: sandboxConfig("evented")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ContainersStatuses) != 2 || resp.ContainersStatuses[0].Id != next.ContainerId || resp.ContainersStatuses[1].Id != running {
		t.Errorf("order: %v, want the new attempt %s first", resp.ContainersStatuses, next.ContainerId)
	}
}

// When the containers cannot be listed the call fails: an empty list would
// tell the kubelet the pod has none, and it would create them again. (A
// synced cache lists from memory; one whose event stream is down asks the
// daemon.)
func TestPodSandboxStatusFailsWhenContainersUnknown(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("evented")
	h.createContainer(sb, "c")
	h.unsynced() // and listing fails
	resp, err := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
	if err == nil {
		t.Fatalf("PodSandboxStatus with the engine's list failing: %v, want an error", resp)
	}
}
