package cri

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A container whose start failed is one Docker lists "created"; List must
// say exited, as Status does.
func TestFailedStartListsExited(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("nostart")
	id := h.createContainer(sb, "app")
	if err := h.fake.FailNextStart(id, "exec: no such file"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err == nil {
		t.Fatal("the start did not fail")
	}
	st, err := h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil || st.Status.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Fatalf("ContainerStatus %v, %v; want EXITED", st.GetStatus().GetState(), err)
	}
	list, err := h.svc.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{})
	if err != nil || len(list.Containers) != 1 || list.Containers[0].State != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Fatalf("ListContainers %v, %v; want it EXITED", list.GetContainers(), err)
	}
}
