package cri

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// GetContainerEvents streams lifecycle events of managed containers and
// sandboxes from the engine's event stream until the client goes away.
func (s *Service) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	ctx := stream.Context()
	events, errc := s.eng.Events(ctx, engine.EventsOptions{Labels: []string{naming.ManagedLabelFilter}})
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if err == nil || errors.Is(err, ctx.Err()) {
				return nil
			}
			return fmt.Errorf("engine events: %w", err)
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			resp := s.eventResponse(ctx, ev)
			if resp == nil {
				continue
			}
			if err := stream.Send(resp); err != nil {
				return err
			}
		}
	}
}

func eventType(action string) (runtimeapi.ContainerEventType, bool) {
	switch action {
	case "create":
		return runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, true
	case "start":
		return runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, true
	case "die":
		return runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, true
	case "destroy":
		return runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, true
	}
	return 0, false
}

// eventResponse converts one engine event. Docker's event attributes carry
// the container's labels, which say which sandbox it belongs to; the pod's
// current status and its containers' statuses go with the event, as the
// kubelet's evented PLEG expects.
func (s *Service) eventResponse(ctx context.Context, ev engine.Event) *runtimeapi.ContainerEventResponse {
	typ, ok := eventType(ev.Action)
	if !ok || ev.Attributes[naming.LabelManaged] != "true" {
		return nil
	}
	resp := &runtimeapi.ContainerEventResponse{
		ContainerId:        ev.ContainerID,
		ContainerEventType: typ,
		CreatedAt:          ev.Time.UnixNano(),
	}
	sandboxID := ev.Attributes[naming.LabelSandboxID]
	if ev.Attributes[naming.LabelType] == naming.TypeSandbox {
		sandboxID = ev.ContainerID
	}
	if sandboxID == "" {
		return resp
	}
	sb, err := s.inspectManaged(ctx, naming.TypeSandbox, sandboxID)
	if err != nil {
		return resp // the pod is gone (a DELETED event): nothing more to say
	}
	resp.PodSandboxStatus = s.sandboxStatus(ctx, sb)
	ctrs, err := s.sandboxContainers(ctx, sandboxID)
	if err != nil {
		return resp
	}
	for _, c := range ctrs {
		ic, err := s.inspectManaged(ctx, naming.TypeContainer, c.ID)
		if err != nil {
			continue
		}
		resp.ContainersStatuses = append(resp.ContainersStatuses, s.containerStatus(ctx, ic))
	}
	return resp
}
