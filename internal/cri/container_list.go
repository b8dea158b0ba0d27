package cri

import (
	"context"

	"github.com/moby/moby/api/types/container"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// ListContainers lists containers, honouring the id (or prefix), state,
// sandbox id (or prefix) and label selector filters.
func (s *Service) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	list, err := s.containerListing(ctx, req.Filter)
	if err != nil {
		return nil, err
	}
	slot, memo := containerSlot(req.Filter)
	if memo {
		if resp, ok := s.relists.containers.get(slot, list); ok {
			return resp, nil
		}
	}
	resp := &runtimeapi.ListContainersResponse{Containers: s.containerItems(ctx, list, req.Filter)}
	if memo {
		s.relists.containers.put(slot, s.cfg.PlainLists, list, resp, resp.Containers)
	}
	return resp, nil
}

// listContainers returns shared, read-only items (see list_fast.go).
func (s *Service) listContainers(ctx context.Context, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	list, err := s.containerListing(ctx, f)
	if err != nil {
		return nil, err
	}
	return s.containerItems(ctx, list, f), nil
}

// containerListing is the cache's listing a container filter selects from.
func (s *Service) containerListing(ctx context.Context, f *runtimeapi.ContainerFilter) ([]*cache.Shared, error) {
	if f.GetId() != "" {
		found, err := s.findManaged(ctx, naming.TypeContainer, f.GetId())
		if err != nil {
			return nil, err
		}
		return cache.WrapShared(found), nil
	}
	labels := append(s.managedFilter(naming.TypeContainer), selectorFilters(f.GetLabelSelector())...)
	if sb := f.GetPodSandboxId(); len(sb) == fullIDLen {
		labels = append(labels, naming.LabelSandboxID+"="+sb)
	}
	return s.eng.ListShared(ctx, engine.ListOptions{All: true, Labels: labels})
}

// containerItems derives the CRI items of a listing, filtered.
func (s *Service) containerItems(ctx context.Context, list []*cache.Shared, f *runtimeapi.ContainerFilter) []*runtimeapi.Container {
	out := make([]*runtimeapi.Container, 0, len(list))
	for _, sh := range list {
		d := s.listedOf(sh, naming.TypeContainer)
		if !d.mine {
			continue
		}
		ctr := d.container
		if ctr.State == runtimeapi.ContainerState_CONTAINER_CREATED && !sh.Inspected {
			ctr = s.createdState(ctx, ctr)
		}
		if f != nil {
			if f.State != nil && f.State.State != ctr.State {
				continue
			}
			if f.PodSandboxId != "" && !hasPrefix(ctr.PodSandboxId, f.PodSandboxId) {
				continue
			}
			if !matchSelector(ctr.Labels, f.LabelSelector) {
				continue
			}
		}
		out = append(out, ctr)
	}
	return out
}

// createdState checks a container listed "created" by the engine itself
// (no cache, or the cache out of sync): Docker lists a failed start so,
// and only its inspect record tells. Such listings are few.
func (s *Service) createdState(ctx context.Context, ctr *runtimeapi.Container) *runtimeapi.Container {
	in, err := s.eng.InspectContainer(ctx, ctr.Id)
	if err != nil {
		return ctr // listed a moment ago; the next relist sees what it became
	}
	st := containerState(in.State)
	if st == ctr.State {
		return ctr
	}
	out := proto.CloneOf(ctr)
	out.State = st
	return out
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func containerFromSummary(c *container.Summary) *runtimeapi.Container {
	labels, ann := userLabels(c.Labels)
	return &runtimeapi.Container{
		Id:           c.ID,
		PodSandboxId: c.Labels[naming.LabelSandboxID],
		Metadata:     containerMetadata(c.Labels),
		Image:        containerImageSpec(c.Labels),
		ImageRef:     c.ImageID,
		ImageId:      c.ImageID,
		State:        summaryState(c.State),
		CreatedAt:    createdOf(c.Labels, c.Created),
		Labels:       labels,
		Annotations:  ann,
	}
}
