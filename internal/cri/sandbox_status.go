package cri

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// PodSandboxStatus reports a sandbox; an unknown id is NotFound.
func (s *Service) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	// Taken before anything is read: the statuses are at least this new.
	ts := nowNano()
	// The records are the cache's own: read, never modified.
	sb, err := s.resolveShared(ctx, naming.TypeSandbox, req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	st := s.sandboxStatus(ctx, sb)
	resp := &runtimeapi.PodSandboxStatusResponse{Status: st, Timestamp: ts}
	// A kubelet with the EventedPLEG gate takes the pod's containers from
	// this response whenever Timestamp is set, instead of listing them: an
	// empty list makes it create every container again on each sync.
	if resp.ContainersStatuses, err = s.podContainerStatuses(ctx, sb.ID); err != nil {
		return nil, err
	}
	if req.Verbose {
		info := map[string]any{
			"image":        sb.Config.Image,
			"pid":          pidOf(sb),
			"networkMode":  string(sb.HostConfig.NetworkMode),
			"cgroupParent": sb.HostConfig.CgroupParent,
			"netPlugin":    s.cfg.Network.Name(),
		}
		if cp, _ := s.ckpt.Load(sb.ID); cp != nil {
			info["netns"] = cp.NetNS
		}
		b, _ := json.Marshal(info)
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

// podContainerStatuses reports every container of a sandbox, in any state,
// newest first: the kubelet takes the first status of a name as that
// container's current instance (it sorts its own listing the same way, but
// not this one). A container removed between the listing and its
// inspection is left out.
func (s *Service) podContainerStatuses(ctx context.Context, sandboxID string) ([]*runtimeapi.ContainerStatus, error) {
	list, err := s.sandboxContainers(ctx, sandboxID)
	if err != nil {
		return nil, err
	}
	out := make([]*runtimeapi.ContainerStatus, 0, len(list))
	for _, c := range list {
		in, err := s.inspectManagedShared(ctx, naming.TypeContainer, c.ID)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s.containerStatus(ctx, in))
	}
	slices.SortStableFunc(out, func(a, b *runtimeapi.ContainerStatus) int { return cmp.Compare(b.CreatedAt, a.CreatedAt) })
	return out, nil
}

func pidOf(c *container.InspectResponse) int {
	if c.State == nil {
		return 0
	}
	return c.State.Pid
}

func (s *Service) sandboxStatus(ctx context.Context, sb *container.InspectResponse) *runtimeapi.PodSandboxStatus {
	l := sb.Config.Labels
	labels, ann := userLabels(l)
	state := runtimeapi.PodSandboxState_SANDBOX_NOTREADY
	running := sb.State != nil && sb.State.Running
	if running {
		state = runtimeapi.PodSandboxState_SANDBOX_READY
	}
	st := &runtimeapi.PodSandboxStatus{
		Id:             sb.ID,
		Metadata:       sandboxMetadata(l),
		State:          state,
		CreatedAt:      createdOf(l, parseDockerTime(sb.Created)/1e9),
		Labels:         labels,
		Annotations:    ann,
		RuntimeHandler: l[naming.LabelRuntimeHandler],
		Linux: &runtimeapi.LinuxPodSandboxStatus{
			Namespaces: &runtimeapi.Namespace{Options: namespaceOptionsOf(l)},
		},
		Network: &runtimeapi.PodSandboxNetworkStatus{},
	}
	if running {
		ips, err := s.cfg.Network.IPs(ctx, podFromInspect(sb), sb)
		if err != nil {
			s.log(ctx).Warn("reading pod IPs failed", "sandbox", sb.ID, "err", err)
		}
		if len(ips) > 0 {
			st.Network.Ip = ips[0]
			for _, ip := range ips[1:] {
				st.Network.AdditionalIps = append(st.Network.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
			}
		}
	}
	return st
}
