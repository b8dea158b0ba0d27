package pod

import (
	"fmt"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// LogDir is where the CRI writes a pod's container logs.
func LogDir(podDir string) string { return filepath.Join(podDir, "logs") }

// ContainerLogPath is a container's log path relative to LogDir, as the
// kubelet lays it out: <container>/<restart count>.log.
func ContainerLogPath(container string, attempt uint32) string {
	return filepath.Join(container, fmt.Sprintf("%d.log", attempt))
}

// SandboxConfig translates the pod-level parts of p. podDir holds the pod's
// logs and volumes; source identifies the manifest that created the pod.
func SandboxConfig(p *corev1.Pod, podDir, source string, attempt uint32) (*runtimeapi.PodSandboxConfig, error) {
	if p.UID == "" {
		return nil, fmt.Errorf("pod %s/%s: no uid", p.Namespace, p.Name)
	}
	ports, err := portMappings(p)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for k, v := range p.Labels {
		labels[k] = v
	}
	labels[naming.PlayLabel] = "true"
	labels[naming.PlayLabelSource] = source
	labels[naming.KubeletLabelPodName] = p.Name
	labels[naming.KubeletLabelPodNamespace] = p.Namespace
	labels[naming.KubeletLabelPodUID] = string(p.UID)
	annotations := map[string]string{}
	for k, v := range p.Annotations {
		annotations[k] = v
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{
			Name: p.Name, Namespace: p.Namespace, Uid: string(p.UID), Attempt: attempt,
		},
		Hostname:     hostname(p),
		LogDirectory: LogDir(podDir),
		DnsConfig:    dnsConfig(p.Spec.DNSConfig),
		PortMappings: ports,
		Labels:       labels,
		Annotations:  annotations,
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: podSecurityContext(p),
			Sysctls:         sysctls(p),
		},
	}
	if p.Spec.HostNetwork {
		// The kubelet leaves the hostname empty: the host's own is used.
		cfg.Hostname = ""
	}
	return cfg, nil
}

func hostname(p *corev1.Pod) string {
	h := p.Name
	if p.Spec.Hostname != "" {
		h = p.Spec.Hostname
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

func dnsConfig(c *corev1.PodDNSConfig) *runtimeapi.DNSConfig {
	if c == nil {
		return nil
	}
	out := &runtimeapi.DNSConfig{Servers: c.Nameservers, Searches: c.Searches}
	for _, o := range c.Options {
		s := o.Name
		if o.Value != nil {
			s += ":" + *o.Value
		}
		out.Options = append(out.Options, s)
	}
	return out
}

func sysctls(p *corev1.Pod) map[string]string {
	if p.Spec.SecurityContext == nil || len(p.Spec.SecurityContext.Sysctls) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, s := range p.Spec.SecurityContext.Sysctls {
		out[s.Name] = s.Value
	}
	return out
}

// portMappings collects the container ports that ask for a host port: on
// a single host, a hostPort is the only way in from outside the pod.
func portMappings(p *corev1.Pod) ([]*runtimeapi.PortMapping, error) {
	var out []*runtimeapi.PortMapping
	seen := map[string]string{}
	for _, c := range p.Spec.Containers {
		for i, port := range c.Ports {
			if port.ContainerPort <= 0 || port.ContainerPort > 65535 {
				return nil, fmt.Errorf("container %s: ports[%d].containerPort %d out of range", c.Name, i, port.ContainerPort)
			}
			if port.HostPort == 0 {
				continue
			}
			if port.HostPort < 0 || port.HostPort > 65535 {
				return nil, fmt.Errorf("container %s: ports[%d].hostPort %d out of range", c.Name, i, port.HostPort)
			}
			proto, err := protocol(port.Protocol)
			if err != nil {
				return nil, fmt.Errorf("container %s: ports[%d]: %w", c.Name, i, err)
			}
			if p.Spec.HostNetwork && port.HostPort != port.ContainerPort {
				return nil, fmt.Errorf("container %s: ports[%d]: with hostNetwork, hostPort must equal containerPort", c.Name, i)
			}
			k := fmt.Sprintf("%s/%s/%d", port.HostIP, proto, port.HostPort)
			if other, dup := seen[k]; dup {
				return nil, fmt.Errorf("container %s: hostPort %d/%s already used by container %s", c.Name, port.HostPort, proto, other)
			}
			seen[k] = c.Name
			out = append(out, &runtimeapi.PortMapping{
				Protocol: proto, ContainerPort: port.ContainerPort, HostPort: port.HostPort, HostIp: port.HostIP,
			})
		}
	}
	return out, nil
}

func protocol(p corev1.Protocol) (runtimeapi.Protocol, error) {
	switch p {
	case "", corev1.ProtocolTCP:
		return runtimeapi.Protocol_TCP, nil
	case corev1.ProtocolUDP:
		return runtimeapi.Protocol_UDP, nil
	case corev1.ProtocolSCTP:
		return runtimeapi.Protocol_SCTP, nil
	}
	return 0, fmt.Errorf("protocol %q: want TCP, UDP or SCTP", p)
}

func namespaceOptions(p *corev1.Pod) *runtimeapi.NamespaceOption {
	mode := func(host bool) runtimeapi.NamespaceMode {
		if host {
			return runtimeapi.NamespaceMode_NODE
		}
		return runtimeapi.NamespaceMode_POD
	}
	return &runtimeapi.NamespaceOption{
		Network: mode(p.Spec.HostNetwork),
		Pid:     pidMode(p),
		Ipc:     mode(p.Spec.HostIPC),
	}
}

func pidMode(p *corev1.Pod) runtimeapi.NamespaceMode {
	if p.Spec.HostPID {
		return runtimeapi.NamespaceMode_NODE
	}
	if p.Spec.ShareProcessNamespace != nil && *p.Spec.ShareProcessNamespace {
		return runtimeapi.NamespaceMode_POD
	}
	return runtimeapi.NamespaceMode_CONTAINER
}

func podSecurityContext(p *corev1.Pod) *runtimeapi.LinuxSandboxSecurityContext {
	sc := &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: namespaceOptions(p)}
	if psc := p.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			sc.RunAsUser = &runtimeapi.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			sc.RunAsGroup = &runtimeapi.Int64Value{Value: *psc.RunAsGroup}
		}
		sc.SupplementalGroups = withFSGroup(p, psc.SupplementalGroups)
	}
	return sc
}
