package network

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// portBindings turns CRI port mappings into Docker's exposed ports and port
// bindings. A mapping without a host port is not published (as the kubelet
// did): Docker would otherwise pick a random host port nobody asked for.
func portBindings(mappings []*runtimeapi.PortMapping) (network.PortSet, network.PortMap, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for i, pm := range mappings {
		if pm == nil {
			continue
		}
		if pm.ContainerPort <= 0 || pm.ContainerPort > 65535 {
			return nil, nil, fmt.Errorf("port mapping %d: container port %d out of range 1-65535: %w",
				i, pm.ContainerPort, errdefs.ErrInvalidArgument)
		}
		if pm.HostPort < 0 || pm.HostPort > 65535 {
			return nil, nil, fmt.Errorf("port mapping %d: host port %d out of range 1-65535: %w",
				i, pm.HostPort, errdefs.ErrInvalidArgument)
		}
		if pm.HostPort == 0 {
			continue
		}
		proto, err := dockerProto(pm.Protocol)
		if err != nil {
			return nil, nil, fmt.Errorf("port mapping %d: %w", i, err)
		}
		var hostIP netip.Addr
		if pm.HostIp != "" {
			hostIP, err = netip.ParseAddr(pm.HostIp)
			if err != nil {
				return nil, nil, fmt.Errorf("port mapping %d: host IP %q: %w", i, pm.HostIp, errdefs.ErrInvalidArgument)
			}
		}
		port, _ := network.PortFrom(uint16(pm.ContainerPort), proto)
		exposed[port] = struct{}{}
		bindings[port] = append(bindings[port], network.PortBinding{
			HostIP:   hostIP,
			HostPort: strconv.Itoa(int(pm.HostPort)),
		})
	}
	return exposed, bindings, nil
}

func dockerProto(p runtimeapi.Protocol) (network.IPProtocol, error) {
	switch p {
	case runtimeapi.Protocol_TCP:
		return network.TCP, nil
	case runtimeapi.Protocol_UDP:
		return network.UDP, nil
	case runtimeapi.Protocol_SCTP:
		return network.SCTP, nil
	default:
		return "", fmt.Errorf("unknown protocol %d: %w", p, errdefs.ErrInvalidArgument)
	}
}

// cniProto is the protocol name the portmap plugin expects.
func cniProto(p runtimeapi.Protocol) (string, error) {
	pr, err := dockerProto(p)
	return string(pr), err
}
