package cri

import (
	"context"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// ListPodSandbox lists sandboxes, honouring the id (or id prefix), state and
// label selector filters.
func (s *Service) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	items, err := s.listSandboxes(ctx, req.Filter)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ListPodSandboxResponse{Items: items}, nil
}

// listSandboxes returns shared, read-only items (see list_fast.go).
func (s *Service) listSandboxes(ctx context.Context, f *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	var list []*cache.Shared
	if f.GetId() != "" {
		found, err := s.findManaged(ctx, naming.TypeSandbox, f.GetId())
		if err != nil {
			return nil, err
		}
		list = cache.WrapShared(found)
	} else {
		var err error
		list, err = s.eng.ListShared(ctx, engine.ListOptions{
			All:    true,
			Labels: append(s.managedFilter(naming.TypeSandbox), selectorFilters(f.GetLabelSelector())...),
		})
		if err != nil {
			return nil, err
		}
	}
	items := make([]*runtimeapi.PodSandbox, 0, len(list))
	for _, sh := range list {
		d := s.listedOf(sh, naming.TypeSandbox)
		if !d.mine {
			continue
		}
		sb := d.sandbox
		if f != nil {
			if f.State != nil && f.State.State != sb.State {
				continue
			}
			if !matchSelector(sb.Labels, f.LabelSelector) {
				continue
			}
		}
		items = append(items, sb)
	}
	return items, nil
}

func sandboxFromSummary(c *container.Summary) *runtimeapi.PodSandbox {
	labels, ann := userLabels(c.Labels)
	state := runtimeapi.PodSandboxState_SANDBOX_NOTREADY
	if c.State == container.StateRunning {
		state = runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return &runtimeapi.PodSandbox{
		Id:             c.ID,
		Metadata:       sandboxMetadata(c.Labels),
		State:          state,
		CreatedAt:      createdOf(c.Labels, c.Created),
		Labels:         labels,
		Annotations:    ann,
		RuntimeHandler: c.Labels[naming.LabelRuntimeHandler],
	}
}
