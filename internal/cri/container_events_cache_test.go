package cri

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

// cacheEventStream is a GetContainerEvents server stream that hands events to
// the test.
type cacheEventStream struct {
	grpc.ServerStream
	ctx    context.Context
	events chan *runtimeapi.ContainerEventResponse
}

func (s *cacheEventStream) Context() context.Context { return s.ctx }

func (s *cacheEventStream) Send(r *runtimeapi.ContainerEventResponse) error {
	select {
	case s.events <- r:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func TestContainerEventsFromCache(t *testing.T) {
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{DefaultPodInfraImage}})
	f.AddImage(image.InspectResponse{RepoTags: []string{testImage}})
	h := &harness{t: t, fake: f, root: t.TempDir(), ctx: context.Background()}
	h.svc = h.restart()

	ctx, cancel := context.WithCancel(context.Background())
	stream := &cacheEventStream{ctx: ctx, events: make(chan *runtimeapi.ContainerEventResponse, 100)}
	done := make(chan error, 1)
	go func() { done <- h.svc.GetContainerEvents(&runtimeapi.GetEventsRequest{}, stream) }()
	// The subscription starts asynchronously: poke until an event comes.
	probe := h.runSandbox("probe")
	deadline := time.Now().Add(10 * time.Second)
	for got := false; !got; {
		if time.Now().After(deadline) {
			t.Fatal("the event stream never started")
		}
		select {
		case r := <-stream.events:
			got = r.ContainerId == probe
		case <-time.After(20 * time.Millisecond):
			_, _ = h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: probe})
			_, _ = h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: probe})
			probe = h.runSandbox("probe")
		}
	}
	drain(stream.events)

	sb := h.runSandbox("web")
	id := h.createContainer(sb, "app")
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if err := f.ExitContainer(id, 1); err != nil { // behind the server's back
		t.Fatal(err)
	}
	if _, err := h.svc.RemoveContainer(h.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}

	want := []struct {
		id  string
		typ runtimeapi.ContainerEventType
	}{
		{sb, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT},
		{sb, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT},
		{id, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT},
		{id, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT},
		{id, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT},
		{id, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT},
	}
	for i, w := range want {
		var r *runtimeapi.ContainerEventResponse
		select {
		case r = <-stream.events:
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d: none", i)
		}
		if r.ContainerId != w.id || r.ContainerEventType != w.typ {
			t.Fatalf("event %d: %s %v, want %s %v", i, r.ContainerId[:8], r.ContainerEventType, w.id[:8], w.typ)
		}
		if r.PodSandboxStatus == nil || r.PodSandboxStatus.Id != sb || r.PodSandboxStatus.Metadata.GetName() != "web" {
			t.Fatalf("event %d: sandbox status %v", i, r.PodSandboxStatus)
		}
		// The statuses are the state after the change.
		if w.id == id && w.typ != runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT {
			if len(r.ContainersStatuses) != 1 || r.ContainersStatuses[0].Id != id {
				t.Fatalf("event %d: container statuses %v", i, r.ContainersStatuses)
			}
			st := r.ContainersStatuses[0].State
			if w.typ == runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT && st != runtimeapi.ContainerState_CONTAINER_EXITED {
				t.Fatalf("stopped event with state %v", st)
			}
		}
		if w.typ == runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT && len(r.ContainersStatuses) != 0 {
			t.Fatalf("deleted container still in statuses: %v", r.ContainersStatuses)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stream ended with %v", err)
	}
}

func drain(ch chan *runtimeapi.ContainerEventResponse) {
	for {
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
			return
		}
	}
}
