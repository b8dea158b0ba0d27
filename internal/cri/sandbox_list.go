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
	list, err := s.sandboxListing(ctx, req.Filter)
	if err != nil {
		return nil, err
	}
	slot, memo := sandboxSlot(req.Filter)
	if memo {
		if resp, ok := s.relists.sandboxes.get(slot, list); ok {
			return resp, nil
		}
	}
	resp := &runtimeapi.ListPodSandboxResponse{Items: s.sandboxItems(list, req.Filter)}
	if memo {
		s.relists.sandboxes.put(slot, s.cfg.PlainLists, list, resp, resp.Items)
	}
	return resp, nil
}

// listSandboxes returns shared, read-only items (see list_fast.go).
func (s *Service) listSandboxes(ctx context.Context, f *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	list, err := s.sandboxListing(ctx, f)
	if err != nil {
		return nil, err
	}
	return s.sandboxItems(list, f), nil
}

// sandboxListing is the cache's listing a sandbox filter selects from.
func (s *Service) sandboxListing(ctx context.Context, f *runtimeapi.PodSandboxFilter) ([]*cache.Shared, error) {
	if f.GetId() != "" {
		found, err := s.findManaged(ctx, naming.TypeSandbox, f.GetId())
		if err != nil {
			return nil, err
		}
		return cache.WrapShared(found), nil
	}
	return s.eng.ListShared(ctx, engine.ListOptions{
		All:    true,
		Labels: append(s.managedFilter(naming.TypeSandbox), selectorFilters(f.GetLabelSelector())...),
	})
}

// sandboxItems derives the CRI items of a listing, filtered.
func (s *Service) sandboxItems(list []*cache.Shared, f *runtimeapi.PodSandboxFilter) []*runtimeapi.PodSandbox {
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
	return items
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
