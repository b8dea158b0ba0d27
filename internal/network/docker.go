package network

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

const (
	dockerDefaultNetwork = "bridge"
	networkModeHost      = "host"
	networkModeNone      = "none"
)

// dockerPlugin puts pods on a Docker network (the default bridge unless
// configured): Docker gives the address and publishes host ports, so a pod
// gets a working IP with no CNI set-up at all.
type dockerPlugin struct {
	eng     engine.Engine
	network string
	log     *slog.Logger
}

func newDocker(eng engine.Engine, cfg Config) *dockerPlugin {
	n := cfg.DockerNetwork
	if n == "" {
		n = dockerDefaultNetwork
	}
	return &dockerPlugin{eng: eng, network: n, log: cfg.Logger.With("network", "docker")}
}

func (p *dockerPlugin) Name() string { return PluginDocker }

// Status: Docker's networks are ready whenever Docker is.
func (p *dockerPlugin) Status() error { return nil }

func (p *dockerPlugin) Prepare(_ context.Context, pod *Pod, spec *engine.CreateSpec) error {
	if pod == nil || spec == nil {
		return fmt.Errorf("prepare: nil pod or spec: %w", errdefs.ErrInvalidArgument)
	}
	ensureSpec(spec)
	if pod.HostNetwork {
		// Host ports are the pod's own ports on a host-network pod.
		spec.HostConfig.NetworkMode = networkModeHost
		return nil
	}
	exposed, bindings, err := portBindings(pod.PortMappings)
	if err != nil {
		return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	spec.HostConfig.NetworkMode = container.NetworkMode(p.network)
	if len(bindings) > 0 {
		if spec.Config.ExposedPorts == nil {
			spec.Config.ExposedPorts = exposed
		} else {
			for k := range exposed {
				spec.Config.ExposedPorts[k] = struct{}{}
			}
		}
		spec.HostConfig.PortBindings = bindings
	}
	return nil
}

// SetUp has nothing to do (Docker wired the sandbox when it started it); it
// reports the addresses Docker assigned.
func (p *dockerPlugin) SetUp(ctx context.Context, pod *Pod, _ string) (*Result, error) {
	if pod == nil {
		return nil, fmt.Errorf("set up: nil pod: %w", errdefs.ErrInvalidArgument)
	}
	if pod.HostNetwork {
		return &Result{}, nil
	}
	ins, err := p.eng.InspectContainer(ctx, pod.ID)
	if err != nil {
		return nil, fmt.Errorf("set up pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	ips, err := p.IPs(ctx, pod, ins)
	if err != nil {
		return nil, err
	}
	return &Result{IPs: ips}, nil
}

// IPs reads the addresses from the inspect response: the configured
// network's endpoint first, IPv4 before the global IPv6 address.
func (p *dockerPlugin) IPs(_ context.Context, pod *Pod, ins *container.InspectResponse) ([]string, error) {
	if pod != nil && pod.HostNetwork {
		return nil, nil
	}
	if ins == nil {
		return nil, fmt.Errorf("pod IPs: nil inspect response: %w", errdefs.ErrInvalidArgument)
	}
	if ins.HostConfig != nil && ins.HostConfig.NetworkMode.IsHost() {
		return nil, nil
	}
	if ins.NetworkSettings == nil {
		return nil, nil
	}
	nets := ins.NetworkSettings.Networks
	names := make([]string, 0, len(nets))
	for name := range nets {
		if name != p.network {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if _, ok := nets[p.network]; ok {
		names = append([]string{p.network}, names...)
	}
	var v4, v6 []string
	for _, name := range names {
		ep := nets[name]
		if ep == nil {
			continue
		}
		if ep.IPAddress.IsValid() && !ep.IPAddress.IsUnspecified() {
			v4 = appendUnique(v4, ep.IPAddress.String())
		}
		if ep.GlobalIPv6Address.IsValid() && !ep.GlobalIPv6Address.IsUnspecified() {
			v6 = appendUnique(v6, ep.GlobalIPv6Address.String())
		}
	}
	return append(v4, v6...), nil
}

func (p *dockerPlugin) TearDown(context.Context, *Pod, string) error { return nil }

func ensureSpec(spec *engine.CreateSpec) {
	if spec.Config == nil {
		spec.Config = &container.Config{}
	}
	if spec.HostConfig == nil {
		spec.HostConfig = &container.HostConfig{}
	}
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
