package cri

import (
	"context"
	"encoding/json"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodSandboxStatus reports a sandbox; an unknown id is NotFound.
func (s *Service) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	if err := validateID("pod sandbox", req.PodSandboxId); err != nil {
		return nil, err
	}
	sb, err := s.resolveSandbox(ctx, req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	st := s.sandboxStatus(ctx, sb)
	resp := &runtimeapi.PodSandboxStatusResponse{Status: st, Timestamp: nowNano()}
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
		RuntimeHandler: l[labelRuntimeHandler],
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
