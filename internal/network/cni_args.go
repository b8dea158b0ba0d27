package network

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containernetworking/cni/libcni"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Pod annotations the kubelet uses for the bandwidth plugin.
const (
	annotationIngressBandwidth = "kubernetes.io/ingress-bandwidth"
	annotationEgressBandwidth  = "kubernetes.io/egress-bandwidth"
)

// runtimeConf is one pod's CNI invocation: the CNI_ARGS the kubelet passes
// and the capability args (libcni hands each plugin only those it declares).
func (p *cniPlugin) runtimeConf(pod *Pod, netnsPath string) (*libcni.RuntimeConf, error) {
	caps := map[string]any{}
	pms, err := portMappingsArg(pod.PortMappings)
	if err != nil {
		return nil, err
	}
	// Always set, even empty, as the kubelet did: portmap then knows the
	// pod has no host ports rather than guessing.
	caps["portMappings"] = pms
	if dns := dnsArg(pod.DNS); dns != nil {
		caps["dns"] = dns
	}
	bw, err := bandwidthArg(pod.Annotations)
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if bw != nil {
		caps["bandwidth"] = bw
	}
	if pod.CgroupParent != "" {
		caps["cgroupPath"] = pod.CgroupParent
	}
	if len(pod.Annotations) > 0 {
		caps["io.kubernetes.cri.pod-annotations"] = pod.Annotations
	}
	return &libcni.RuntimeConf{
		ContainerID:    pod.ID,
		NetNS:          netnsPath,
		IfName:         p.ifName,
		Args:           podArgs(pod),
		CapabilityArgs: caps,
	}, nil
}

func podArgs(pod *Pod) [][2]string {
	return [][2]string{
		{"IgnoreUnknown", "1"},
		{"K8S_POD_NAMESPACE", pod.Namespace},
		{"K8S_POD_NAME", pod.Name},
		{"K8S_POD_INFRA_CONTAINER_ID", pod.ID},
		{"K8S_POD_UID", pod.UID},
	}
}

// portMapping is the portmap plugin's runtimeConfig entry.
type portMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// portMappingsArg: only mappings with a host port reach portmap; the rest
// need nothing on a routed pod network.
func portMappingsArg(mappings []*runtimeapi.PortMapping) ([]portMapping, error) {
	out := []portMapping{}
	for i, pm := range mappings {
		if pm == nil {
			continue
		}
		if pm.ContainerPort <= 0 || pm.ContainerPort > 65535 {
			return nil, fmt.Errorf("port mapping %d: container port %d out of range 1-65535: %w",
				i, pm.ContainerPort, errdefs.ErrInvalidArgument)
		}
		if pm.HostPort < 0 || pm.HostPort > 65535 {
			return nil, fmt.Errorf("port mapping %d: host port %d out of range 1-65535: %w",
				i, pm.HostPort, errdefs.ErrInvalidArgument)
		}
		proto, err := cniProto(pm.Protocol)
		if err != nil {
			return nil, fmt.Errorf("port mapping %d: %w", i, err)
		}
		if pm.HostIp != "" {
			if _, err := netip.ParseAddr(pm.HostIp); err != nil {
				return nil, fmt.Errorf("port mapping %d: host IP %q: %w", i, pm.HostIp, errdefs.ErrInvalidArgument)
			}
		}
		if pm.HostPort == 0 {
			continue
		}
		out = append(out, portMapping{HostPort: pm.HostPort, ContainerPort: pm.ContainerPort, Protocol: proto, HostIP: pm.HostIp})
	}
	return out, nil
}

// dnsArg is the "dns" capability (servers, searches, options), as
// containerd passes it.
func dnsArg(d *runtimeapi.DNSConfig) map[string][]string {
	if d == nil || (len(d.Servers) == 0 && len(d.Searches) == 0 && len(d.Options) == 0) {
		return nil
	}
	return map[string][]string{"servers": d.Servers, "searches": d.Searches, "options": d.Options}
}

// bandwidth is the bandwidth plugin's runtimeConfig entry (bits per second).
type bandwidth struct {
	IngressRate  uint64 `json:"ingressRate,omitempty"`
	IngressBurst uint64 `json:"ingressBurst,omitempty"`
	EgressRate   uint64 `json:"egressRate,omitempty"`
	EgressBurst  uint64 `json:"egressBurst,omitempty"`
}

// bandwidthArg reads the kubelet's bandwidth annotations. The burst is
// "unlimited" as the kubelet sets it (the plugin needs one).
func bandwidthArg(ann map[string]string) (*bandwidth, error) {
	in, out := ann[annotationIngressBandwidth], ann[annotationEgressBandwidth]
	if in == "" && out == "" {
		return nil, nil
	}
	var bw bandwidth
	if in != "" {
		v, err := parseQuantity(in)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", annotationIngressBandwidth, err)
		}
		bw.IngressRate, bw.IngressBurst = v, math.MaxInt32
	}
	if out != "" {
		v, err := parseQuantity(out)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", annotationEgressBandwidth, err)
		}
		bw.EgressRate, bw.EgressBurst = v, math.MaxInt32
	}
	return &bw, nil
}

// quantitySuffixes are the Kubernetes quantity suffixes that make sense for
// a bit rate ("10M", "1Gi").
var quantitySuffixes = []struct {
	s string
	m uint64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50},
	{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15},
}

// parseQuantity parses a non-negative integer with an optional Kubernetes
// suffix. Fractions and exponents are rejected with a clear error rather
// than pulling in apimachinery for two annotations.
func parseQuantity(s string) (uint64, error) {
	num, mult := s, uint64(1)
	for _, q := range quantitySuffixes {
		if strings.HasSuffix(s, q.s) {
			num, mult = strings.TrimSuffix(s, q.s), q.m
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bandwidth %q: want a positive integer with an optional k/M/G/T/P or Ki/Mi/Gi/Ti/Pi suffix: %w",
			s, errdefs.ErrInvalidArgument)
	}
	if n > math.MaxUint64/mult {
		return 0, fmt.Errorf("bandwidth %q too large: %w", s, errdefs.ErrInvalidArgument)
	}
	return n * mult, nil
}
