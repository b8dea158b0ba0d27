package pod

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// ClusterDomain is the DNS domain of Service names, as a default cluster's.
const ClusterDomain = "cluster.local"

// Services resolve through each pod's /etc/hosts, a file the pod runner
// writes into the pod's directory and mounts over /etc/hosts, as the
// kubelet does with its etc-hosts file. The supervisor rewrites it (in
// place: it is bind-mounted) whenever the ready pods behind a Service
// change, so a name follows readiness within a reload period.

// HostsTable gives each pod its /etc/hosts content.
type HostsTable interface {
	Hosts(p *corev1.Pod, podIP string) []byte
}

// Endpoint is a pod as Service discovery sees it.
type Endpoint struct {
	Namespace, Name, Hostname, Subdomain, IP string
	UID, SandboxID                           string
	Labels                                   map[string]string
	Ready                                    bool
	// HostNetwork pods are not named (their address is the host's), but
	// a published port forwards to them on 127.0.0.1.
	HostNetwork bool
	// Ports are the containerPorts of the pod's containers: a Service's
	// named targetPort resolves through them.
	Ports []corev1.ContainerPort
}

// ServiceHosts is the HostsTable of one supervisor: the Services of every
// recorded manifest and the pods' addresses and readiness, replaced as a
// whole by Update.
type ServiceHosts struct {
	mu        sync.RWMutex
	services  []*corev1.Service
	endpoints []Endpoint
}

// Update replaces what the table knows.
func (h *ServiceHosts) Update(services []*corev1.Service, endpoints []Endpoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.services, h.endpoints = services, endpoints
}

// Hosts renders p's /etc/hosts: the kubelet's header and the pod's own
// names, then every Service's names (a ClusterIP Service's short name only
// in its own namespace, as the search path makes it) on the ready pods
// its selector picks. With more than one, each client pod gets them in
// its own order (spread), and a pod that stops being ready leaves at the
// next rewrite (fail over). A headless Service's pods also get
// <hostname>.<service> names when their subdomain is the Service.
func (h *ServiceHosts) Hosts(p *corev1.Pod, podIP string) []byte {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var b bytes.Buffer
	b.WriteString(hostsHeader)
	if podIP != "" {
		host := hostname(p)
		if p.Spec.Subdomain != "" {
			fqdn := fmt.Sprintf("%s.%s.%s.svc.%s", host, p.Spec.Subdomain, p.Namespace, ClusterDomain)
			fmt.Fprintf(&b, "%s\t%s\t%s\n", podIP, fqdn, host)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", podIP, host)
		}
	}
	for _, svc := range h.services {
		ready := h.selected(svc)
		if len(ready) == 0 {
			continue
		}
		names := serviceNames(svc.Name, svc.Namespace, p.Namespace)
		rotate(ready, p.Namespace+"/"+p.Name)
		for _, e := range ready {
			fmt.Fprintf(&b, "%s\t%s\n", e.IP, strings.Join(names, " "))
		}
		if svc.Spec.ClusterIP != corev1.ClusterIPNone {
			continue
		}
		for _, e := range ready {
			if e.Subdomain != svc.Name || e.Hostname == "" {
				continue
			}
			fmt.Fprintf(&b, "%s\t%s\n", e.IP, strings.Join(serviceNames(e.Hostname+"."+svc.Name, svc.Namespace, p.Namespace), " "))
		}
	}
	return b.Bytes()
}

const hostsHeader = `# Kubernetes-managed hosts file (dockerlet play: Services and this pod).
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
fe00::0	ip6-mcastprefix
fe00::1	ip6-allnodes
fe00::2	ip6-allrouters
`

// serviceNames are name's forms as a pod in clientNS resolves them:
// name (own namespace only), name.ns, name.ns.svc, name.ns.svc.<domain>.
func serviceNames(name, ns, clientNS string) []string {
	var out []string
	if ns == clientNS {
		out = append(out, name)
	}
	return append(out, name+"."+ns, name+"."+ns+".svc", name+"."+ns+".svc."+ClusterDomain)
}

// selected returns the ready endpoints svc's selector picks, in name
// order, but those that serve none of its ports (a named targetPort they
// do not define).
func (h *ServiceHosts) selected(svc *corev1.Service) []Endpoint {
	var out []Endpoint
	for _, e := range selectedEndpoints(svc, h.endpoints) {
		if e.Ready && e.IP != "" && !e.HostNetwork && servesAny(svc, e) {
			out = append(out, e)
		}
	}
	return out
}

// rotate turns eps by a client's hash: clients spread over the endpoints
// (resolvers take the first address of a hosts file).
func rotate(eps []Endpoint, client string) {
	if len(eps) < 2 {
		return
	}
	f := fnv.New32a()
	f.Write([]byte(client))
	n := int(f.Sum32() % uint32(len(eps)))
	slices.Reverse(eps[:n])
	slices.Reverse(eps[n:])
	slices.Reverse(eps)
}

// HostsPath is a pod's managed /etc/hosts.
func HostsPath(podDir string) string { return filepath.Join(podDir, "etc-hosts") }

// writeHosts writes content to path in place when it changed: the file is
// bind-mounted into the containers, a rename would leave them the old one.
func writeHosts(path string, content []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		return nil
	}
	return os.WriteFile(path, content, 0o644)
}
