package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// GetContainerEvents streams lifecycle events of this server's containers
// and sandboxes, with pod and container statuses as Evented PLEG needs
// them, until the client goes away. They come from the cache's change
// feed: each change is emitted after the cache holds the new state, so the
// statuses in an event and any status call that follows it agree.
func (s *Service) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	ctx := stream.Context()
	for ch := range s.eng.Subscribe(ctx) {
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
