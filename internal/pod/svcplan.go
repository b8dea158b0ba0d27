package pod

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// A Service's ports are honoured in two places, both planned here from
// the recorded Services and the supervised pods (a pure function, so
// that what is installed for which Service and pod is table-tested):
//
//   - port → targetPort: the name resolves to the pods' own addresses
//     (hosts.go), so a client connects to <pod IP>:<port>. Each backend
//     pod whose targetPort differs gets a redirect port → targetPort in
//     its own network namespace (svcredirect_linux.go).
//   - NodePort and LoadBalancer: the supervisor listens on the publish
//     address (127.0.0.1 by default) at the nodePort, and for a
//     LoadBalancer at its port too, and forwards to a ready endpoint's
//     <pod IP>:<targetPort> (svcproxy.go).

// PlayService is a recorded Service and the address its NodePort and
// LoadBalancer ports are published on.
type PlayService struct {
	Service        *corev1.Service
	PublishAddress string
}

// Redirect maps a Service port to its target in a backend pod's network
// namespace.
type Redirect struct {
	Protocol   corev1.Protocol
	Port       int32
	TargetPort int32
}

// PodRedirects are the redirects one pod's network namespace must hold.
type PodRedirects struct {
	UID, SandboxID, IP string
	Rules              []Redirect // sorted
}

// Backend is where a published port forwards to.
type Backend struct {
	Pod  string // namespace/name
	Addr string // host:port
}

// PublishedPort is one listener of the supervisor on the host.
type PublishedPort struct {
	Service  string // namespace/name
	Protocol corev1.Protocol
	Addr     string // host:port the supervisor listens on
	Backends []Backend
}

// ServicePlan is what the Services ask for, for a set of endpoints.
type ServicePlan struct {
	// Redirects by pod uid, for every selected pod with a sandbox (ready or
	// not: the redirect is in place before the pod becomes an endpoint);
	// a pod that needs none has no entry.
	Redirects map[string]PodRedirects
	Published []PublishedPort // sorted by Addr and protocol
	// Warnings say what cannot be honoured (a conflict, a host-network
	// backend); they repeat on every plan, the caller logs each once.
	Warnings []string
}

// DefaultPublishAddress is where NodePort and LoadBalancer ports are
// published unless play --publish-address says otherwise: this host
// only, as a kind or Docker Desktop cluster publishes them.
const DefaultPublishAddress = "127.0.0.1"

// PlanServices plans the redirects and published ports of services over
// eps. Services are taken in namespace/name order: on a conflict the
// first one wins.
func PlanServices(services []PlayService, eps []Endpoint) ServicePlan {
	services = slices.Clone(services)
	slices.SortFunc(services, func(a, b PlayService) int {
		return cmp.Or(cmp.Compare(a.Service.Namespace, b.Service.Namespace), cmp.Compare(a.Service.Name, b.Service.Name))
	})
	plan := ServicePlan{Redirects: map[string]PodRedirects{}}
	// taken: a pod's (protocol, port) and the target its first Service
	// gave it; the identity counts too (another Service may not move it).
	type portKey struct {
		uid   string
		proto corev1.Protocol
		port  int32
	}
	taken := map[portKey]int32{}
	listening := map[string]string{} // proto/addr → service
	warnedHostNet := map[string]bool{}
	for _, ps := range services {
		svc := ps.Service
		name := svc.Namespace + "/" + svc.Name
		selected := selectedEndpoints(svc, eps)
		for _, sp := range svc.Spec.Ports {
			proto := protocolOf(sp.Protocol)
			var backends []Backend
			for _, e := range selected {
				target, ok := resolveTargetPort(sp, e)
				if !ok {
					continue // the pod does not define the named port: not an endpoint for it
				}
				if e.HostNetwork {
					if target != sp.Port && !warnedHostNet[name+"/"+e.Name] {
						warnedHostNet[name+"/"+e.Name] = true
						plan.Warnings = append(plan.Warnings, fmt.Sprintf("Service %s: pod %s uses the host's network: port %d cannot be redirected to %d there (connect to %d)", name, e.Name, sp.Port, target, target))
					}
					if e.Ready {
						backends = append(backends, Backend{Pod: e.Namespace + "/" + e.Name, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(int(target)))})
					}
					continue
				}
				if e.IP == "" {
					continue
				}
				k := portKey{e.UID, proto, sp.Port}
				if prev, ok := taken[k]; ok {
					if prev != target {
						plan.Warnings = append(plan.Warnings, fmt.Sprintf("Service %s: pod %s: %s port %d already goes to %d for another Service; not redirected to %d", name, e.Name, proto, sp.Port, prev, target))
						continue
					}
				} else {
					taken[k] = target
					if target != sp.Port {
						r := plan.Redirects[e.UID]
						r.UID, r.SandboxID, r.IP = e.UID, e.SandboxID, e.IP
						r.Rules = append(r.Rules, Redirect{Protocol: proto, Port: sp.Port, TargetPort: target})
						plan.Redirects[e.UID] = r
					}
				}
				if e.Ready {
					backends = append(backends, Backend{Pod: e.Namespace + "/" + e.Name, Addr: net.JoinHostPort(e.IP, strconv.Itoa(int(target)))})
				}
			}
			for _, port := range publishedPorts(svc.Spec.Type, sp) {
				addr := net.JoinHostPort(cmp.Or(ps.PublishAddress, DefaultPublishAddress), strconv.Itoa(int(port)))
				lk := string(proto) + "/" + addr
				if other, ok := listening[lk]; ok {
					plan.Warnings = append(plan.Warnings, fmt.Sprintf("Service %s: %s %s is already published for Service %s; not published", name, proto, addr, other))
					continue
				}
				listening[lk] = name
				plan.Published = append(plan.Published, PublishedPort{Service: name, Protocol: proto, Addr: addr, Backends: backends})
			}
		}
	}
	for uid, r := range plan.Redirects {
		slices.SortFunc(r.Rules, func(a, b Redirect) int {
			return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Port, b.Port))
		})
		plan.Redirects[uid] = r
	}
	slices.SortFunc(plan.Published, func(a, b PublishedPort) int {
		return cmp.Or(cmp.Compare(a.Addr, b.Addr), cmp.Compare(a.Protocol, b.Protocol))
	})
	return plan
}

// publishedPorts are the host ports a Service port is published on: its
// nodePort (NodePort, LoadBalancer), and for a LoadBalancer its port as
// well (where a load balancer would take it).
func publishedPorts(t corev1.ServiceType, sp corev1.ServicePort) []int32 {
	var out []int32
	switch t {
	case corev1.ServiceTypeNodePort:
		if sp.NodePort != 0 {
			out = append(out, sp.NodePort)
		}
	case corev1.ServiceTypeLoadBalancer:
		if sp.NodePort != 0 {
			out = append(out, sp.NodePort)
		}
		if sp.Port != sp.NodePort {
			out = append(out, sp.Port)
		}
	}
	return out
}

// HostPort is a Service port published on the host.
type HostPort struct {
	Host, Port int32
	Protocol   corev1.Protocol
}

// PublishedPorts are the host ports of svc (none but for a NodePort or
// LoadBalancer Service).
func PublishedPorts(svc *corev1.Service) []HostPort {
	var out []HostPort
	for _, sp := range svc.Spec.Ports {
		for _, p := range publishedPorts(svc.Spec.Type, sp) {
			out = append(out, HostPort{Host: p, Port: sp.Port, Protocol: protocolOf(sp.Protocol)})
		}
	}
	return out
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// resolveTargetPort is the port of e that sp forwards to, as kube-proxy
// resolves it: unset is the port itself, a number is itself, a name is
// the containerPort of that name and protocol in e's containers (false
// when e has none: e is no endpoint for sp).
func resolveTargetPort(sp corev1.ServicePort, e Endpoint) (int32, bool) {
	tp := sp.TargetPort
	switch {
	case tp.StrVal != "":
		for _, cp := range e.Ports {
			if cp.Name == tp.StrVal && protocolOf(cp.Protocol) == protocolOf(sp.Protocol) {
				return cp.ContainerPort, true
			}
		}
		return 0, false
	case tp.IntVal != 0:
		return tp.IntVal, true
	}
	return sp.Port, true
}

// selectedEndpoints are the endpoints svc's selector picks (ready or
// not), in name order.
func selectedEndpoints(svc *corev1.Service, eps []Endpoint) []Endpoint {
	if len(svc.Spec.Selector) == 0 {
		return nil // endpoints managed by hand: none here
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var out []Endpoint
	for _, e := range eps {
		if e.Namespace == svc.Namespace && sel.Matches(labels.Set(e.Labels)) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// servesAny reports whether e is an endpoint for at least one of svc's
// ports (a Service without ports: any pod it selects): a pod that defines
// none of its named target ports is left out of its name.
func servesAny(svc *corev1.Service, e Endpoint) bool {
	if len(svc.Spec.Ports) == 0 {
		return true
	}
	for _, sp := range svc.Spec.Ports {
		if _, ok := resolveTargetPort(sp, e); ok {
			return true
		}
	}
	return false
}
