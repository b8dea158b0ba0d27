package cri

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type eventStream struct {
	grpc.ServerStream
	ctx context.Context
	mu  sync.Mutex
	got []*runtimeapi.ContainerEventResponse
}

func (s *eventStream) Context() context.Context { return s.ctx }
func (s *eventStream) Send(r *runtimeapi.ContainerEventResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, r)
	return nil
}

func (s *eventStream) find(id string, typ runtimeapi.ContainerEventType) *runtimeapi.ContainerEventResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.got {
		if r.ContainerId == id && r.ContainerEventType == typ {
			return r
		}
	}
	return nil
}

func TestGetContainerEvents(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	st := &eventStream{ctx: ctx}
	done := make(chan error, 1)
	go func() { done <- h.svc.GetContainerEvents(&runtimeapi.GetEventsRequest{}, st) }()
	for h.fake.Subscribers() == 0 {
		time.Sleep(time.Millisecond)
	}
	sb := h.runSandbox("ev")
	id := h.createContainer(sb, "c")
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var ev *runtimeapi.ContainerEventResponse
	for ev == nil && time.Now().Before(deadline) {
		ev = st.find(id, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT)
		time.Sleep(5 * time.Millisecond)
	}
	if ev == nil {
		t.Fatal("no STARTED event for the container")
	}
	if ev.PodSandboxStatus.GetId() != sb || len(ev.ContainersStatuses) != 1 || ev.ContainersStatuses[0].Id != id {
		t.Errorf("event without the pod's statuses: %v", ev)
	}
	if st.find(sb, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT) == nil {
		t.Error("no CREATED event for the sandbox")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("GetContainerEvents ended with %v", err)
	}
}
