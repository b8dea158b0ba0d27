package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

func (s *Service) requireStats(rpc string) error {
	if s.cfg.Stats == nil {
		return unimplementedf("%s: no stats collector is wired", rpc)
	}
	return nil
}

// containerRef builds the stats collector's view of a container. item,
// when given, is its listed CRI item: the attributes then share its
// metadata and label maps (read-only, as the listing's own) instead of
// deriving them again for every container every stats cycle.
func containerRef(c *container.InspectResponse, item *runtimeapi.Container) ContainerStatsRef {
	attrs := &runtimeapi.ContainerAttributes{Id: c.ID}
	if item != nil && item.Id == c.ID {
		attrs.Metadata, attrs.Labels, attrs.Annotations = item.Metadata, item.Labels, item.Annotations
	} else {
		attrs.Metadata = containerMetadata(c.Config.Labels)
		attrs.Labels, attrs.Annotations = userLabels(c.Config.Labels)
	}
	ref := ContainerStatsRef{
		ID:         c.ID,
		Attributes: attrs,
		Pid:        pidOf(c),
		Image:      c.Config.Labels[naming.LabelImage],
	}
	if c.HostConfig != nil {
		ref.CgroupParent = c.HostConfig.CgroupParent
	}
	if c.GraphDriver != nil {
		ref.UpperDir = c.GraphDriver.Data["UpperDir"]
	}
	return ref
}

// ContainerStats reports one container's usage.
func (s *Service) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	if err := s.requireStats("ContainerStats"); err != nil {
		return nil, err
	}
	c, err := s.resolveContainer(ctx, req.ContainerId)
	if err != nil {
		return nil, err
	}
	st, err := s.cfg.Stats.ContainerStats(ctx, containerRef(c, nil))
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ContainerStatsResponse{Stats: st}, nil
}

// ListContainerStats reports the usage of the containers a filter selects.
func (s *Service) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	if err := s.requireStats("ListContainerStats"); err != nil {
		return nil, err
	}
	f := req.GetFilter()
	ctrs, err := s.listContainers(ctx, &runtimeapi.ContainerFilter{
		Id: f.GetId(), PodSandboxId: f.GetPodSandboxId(), LabelSelector: f.GetLabelSelector(),
	})
	if err != nil {
		return nil, err
	}
	out := make([]*runtimeapi.ContainerStats, 0, len(ctrs))
	for _, c := range ctrs {
		ic, err := s.eng.InspectShared(ctx, c.Id) // containerRef only reads it
		if errdefs.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		st, err := s.cfg.Stats.ContainerStats(ctx, containerRef(ic, c))
		if err != nil {
			s.log(ctx).Debug("container stats failed", "container", c.Id, "err", err)
			continue
		}
		out = append(out, st)
	}
	return &runtimeapi.ListContainerStatsResponse{Stats: out}, nil
}

// sandboxRef builds the stats collector's view of a sandbox.
func (s *Service) sandboxRef(ctx context.Context, sb *container.InspectResponse) (SandboxStatsRef, error) {
	ctrs, err := s.listContainers(ctx, &runtimeapi.ContainerFilter{PodSandboxId: sb.ID})
	if err != nil {
		return s.sandboxRefOf(ctx, sb, nil, nil), err
	}
	return s.sandboxRefOf(ctx, sb, nil, ctrs), nil
}

// sandboxRefOf is sandboxRef with the sandbox's containers already listed;
// item, when given, is the sandbox's listed CRI item, whose metadata and
// label maps the attributes then share (as containerRef's do).
func (s *Service) sandboxRefOf(ctx context.Context, sb *container.InspectResponse, item *runtimeapi.PodSandbox, ctrs []*runtimeapi.Container) SandboxStatsRef {
	attrs := &runtimeapi.PodSandboxAttributes{Id: sb.ID}
	if item != nil && item.Id == sb.ID {
		attrs.Metadata, attrs.Labels, attrs.Annotations = item.Metadata, item.Labels, item.Annotations
	} else {
		attrs.Metadata = sandboxMetadata(sb.Config.Labels)
		attrs.Labels, attrs.Annotations = userLabels(sb.Config.Labels)
	}
	ref := SandboxStatsRef{ID: sb.ID, Attributes: attrs, Pid: pidOf(sb)}
	if sb.HostConfig != nil {
		ref.CgroupParent = sb.HostConfig.CgroupParent
	}
	for _, c := range ctrs {
		if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		ic, err := s.eng.InspectShared(ctx, c.Id) // containerRef only reads it
		if err != nil {
			continue
		}
		ref.Containers = append(ref.Containers, containerRef(ic, c))
	}
	return ref
}

// containersBySandbox lists every managed container once, as CRI items by
// sandbox id: the List*Stats calls cover every pod.
func (s *Service) containersBySandbox(ctx context.Context) (map[string][]*runtimeapi.Container, error) {
	list, err := s.listContainers(ctx, &runtimeapi.ContainerFilter{})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	by := make(map[string][]*runtimeapi.Container)
	for _, c := range list {
		by[c.PodSandboxId] = append(by[c.PodSandboxId], c)
	}
	return by, nil
}

// PodSandboxStats reports one pod's usage.
func (s *Service) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	if err := s.requireStats("PodSandboxStats"); err != nil {
		return nil, err
	}
	sb, err := s.resolveSandbox(ctx, req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	ref, err := s.sandboxRef(ctx, sb)
	if err != nil {
		return nil, err
	}
	st, err := s.cfg.Stats.PodSandboxStats(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: st}, nil
}

// readyPodRefs builds the stats collector's view of every ready pod a
// filter selects, from one listing of the pods and one of the containers.
func (s *Service) readyPodRefs(ctx context.Context, id string, sel map[string]string) ([]SandboxStatsRef, error) {
	items, err := s.listSandboxes(ctx, &runtimeapi.PodSandboxFilter{Id: id, LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	by, err := s.containersBySandbox(ctx)
	if err != nil {
		return nil, err
	}
	var refs []SandboxStatsRef
	for _, it := range items {
		if it.State != runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		sb, err := s.eng.InspectShared(ctx, it.Id) // sandboxRefOf only reads it
		if err != nil {
			continue
		}
		refs = append(refs, s.sandboxRefOf(ctx, sb, it, by[it.Id]))
	}
	return refs, nil
}

// ListPodSandboxStats reports the usage of the ready pods a filter selects.
func (s *Service) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	if err := s.requireStats("ListPodSandboxStats"); err != nil {
		return nil, err
	}
	refs, err := s.readyPodRefs(ctx, req.GetFilter().GetId(), req.GetFilter().GetLabelSelector())
	if err != nil {
		return nil, err
	}
	out := make([]*runtimeapi.PodSandboxStats, 0, len(refs))
	for _, ref := range refs {
		st, err := s.cfg.Stats.PodSandboxStats(ctx, ref)
		if err != nil {
			s.log(ctx).Debug("pod stats failed", "sandbox", ref.ID, "err", err)
			continue
		}
		out = append(out, st)
	}
	return &runtimeapi.ListPodSandboxStatsResponse{Stats: out}, nil
}

// ListMetricDescriptors lists the metrics ListPodSandboxMetrics reports.
func (s *Service) ListMetricDescriptors(ctx context.Context, _ *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	if err := s.requireStats("ListMetricDescriptors"); err != nil {
		return nil, err
	}
	return &runtimeapi.ListMetricDescriptorsResponse{Descriptors: s.cfg.Stats.MetricDescriptors()}, nil
}

// ListPodSandboxMetrics reports the metrics of every ready pod.
func (s *Service) ListPodSandboxMetrics(ctx context.Context, _ *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	if err := s.requireStats("ListPodSandboxMetrics"); err != nil {
		return nil, err
	}
	refs, err := s.readyPodRefs(ctx, "", nil)
	if err != nil {
		return nil, err
	}
	out := make([]*runtimeapi.PodSandboxMetrics, 0, len(refs))
	for _, ref := range refs {
		m, err := s.cfg.Stats.PodSandboxMetrics(ctx, ref)
		if err != nil {
			continue
		}
		out = append(out, m)
	}
	return &runtimeapi.ListPodSandboxMetricsResponse{PodMetrics: out}, nil
}
