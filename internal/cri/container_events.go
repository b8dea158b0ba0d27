package cri

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// changeFeed is the engine cache's change stream: each change is emitted
// after the cache holds the new state, so the statuses in an event and any
// status call that follows it agree.
type changeFeed interface {
	Subscribe(ctx context.Context) <-chan cache.Change
}

// GetContainerEvents streams lifecycle events of managed containers and
// sandboxes until the client goes away: from the engine cache when the
// engine is one (with pod and container statuses, as Evented PLEG needs
// them), else from the engine's event stream.
func (s *Service) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	ctx := stream.Context()
	if feed, ok := s.eng.(changeFeed); ok {
		return s.streamChanges(ctx, feed, stream)
	}
	events, errc := s.eng.Events(ctx, engine.EventsOptions{Labels: []string{naming.ManagedLabelFilter, ownerFilter(s.rootDir)}})
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

func (s *Service) streamChanges(ctx context.Context, feed changeFeed, stream grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	for ch := range feed.Subscribe(ctx) {
		resp := s.changeResponse(ctx, ch)
		if resp == nil {
			continue
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	// The feed cut us off (we fell behind, or the cache closed): end the
	// stream so the client resubscribes and relists rather than miss events.
	return fmt.Errorf("container event feed ended: %w", errdefs.ErrUnavailable)
}

func changeType(k cache.ChangeKind) runtimeapi.ContainerEventType {
	switch k {
	case cache.ChangeStarted:
		return runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT
	case cache.ChangeStopped:
		return runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT
	case cache.ChangeDeleted:
		return runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT
	}
	return runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT
}

// changeResponse converts one cache change. The changed object's status
// is its state right after the change (the change's snapshot, so a STOPPED
// event carries the exit even if the container is gone by now); the rest of
// the pod is reported as it is now (the cache answers from memory).
func (s *Service) changeResponse(ctx context.Context, ch cache.Change) *runtimeapi.ContainerEventResponse {
	c := ch.Container
	if c == nil || c.Config == nil || c.Config.Labels[naming.LabelManaged] != "true" {
		return nil
	}
	typ := c.Config.Labels[naming.LabelType]
	sandboxID := c.ID
	if typ == naming.TypeContainer {
		sandboxID = c.Config.Labels[naming.LabelSandboxID]
	}
	resp := &runtimeapi.ContainerEventResponse{
		ContainerId:        c.ID,
		ContainerEventType: changeType(ch.Kind),
		CreatedAt:          ch.Time.UnixNano(),
	}
	if typ == naming.TypeSandbox {
		resp.PodSandboxStatus = s.sandboxStatus(ctx, c)
	} else if sb, err := s.inspectManaged(ctx, naming.TypeSandbox, sandboxID); err == nil {
		resp.PodSandboxStatus = s.sandboxStatus(ctx, sb)
	}
	list, err := s.sandboxContainers(ctx, sandboxID)
	if err != nil {
		s.log(ctx).Warn("container event: listing the pod's containers failed", "sandbox", sandboxID, "err", err)
	}
	for _, sum := range list {
		if sum.ID == c.ID {
			continue
		}
		if in, err := s.inspectManaged(ctx, naming.TypeContainer, sum.ID); err == nil {
			resp.ContainersStatuses = append(resp.ContainersStatuses, s.containerStatus(ctx, in))
		}
	}
	if typ == naming.TypeContainer && ch.Kind != cache.ChangeDeleted {
		resp.ContainersStatuses = append(resp.ContainersStatuses, s.containerStatus(ctx, c))
	}
	return resp
}
