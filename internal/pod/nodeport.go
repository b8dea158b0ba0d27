package pod

import (
	"fmt"
	"hash/fnv"

	"github.com/containerd/errdefs"
	corev1 "k8s.io/api/core/v1"
)

// The node port range of a default cluster (the API server's
// --service-node-port-range).
const (
	NodePortMin = 30000
	NodePortMax = 32767
)

// AllocateNodePorts gives each NodePort and LoadBalancer port of a that
// has no nodePort one, and records it in a (so the supervisor publishes
// it and a later play finds it): the one prev (the last play of the same
// source) gave the same Service port, else the first free port from a
// hash of the Service and port, so the same file gets the same ports.
// Ports others (the other sources' records) hold are not given; a
// nodePort the file sets that another source holds is a Conflict.
func AllocateNodePorts(a, prev *Applied, others []*Applied) error {
	used := map[int32]string{}
	for _, o := range others {
		if o.SourceID == a.SourceID {
			continue
		}
		for _, svc := range o.Services {
			for _, sp := range svc.Spec.Ports {
				if sp.NodePort != 0 {
					used[sp.NodePort] = svc.Namespace + "/" + svc.Name + " (" + o.Source + ")"
				}
			}
		}
	}
	// The file's own nodePorts first: given ones are taken before any is
	// allocated.
	for _, svc := range a.Services {
		for _, sp := range svc.Spec.Ports {
			if sp.NodePort == 0 {
				continue
			}
			if other, ok := used[sp.NodePort]; ok {
				return fmt.Errorf("service %s/%s: nodePort %d is already allocated to service %s: %w", svc.Namespace, svc.Name, sp.NodePort, other, errdefs.ErrConflict)
			}
			used[sp.NodePort] = svc.Namespace + "/" + svc.Name
		}
	}
	before := map[string]int32{}
	if prev != nil {
		for _, svc := range prev.Services {
			for _, sp := range svc.Spec.Ports {
				if sp.NodePort != 0 {
					before[servicePortKey(svc, sp)] = sp.NodePort
				}
			}
		}
	}
	for _, svc := range a.Services {
		if svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			if sp.NodePort != 0 {
				continue
			}
			k := servicePortKey(svc, *sp)
			if p, ok := before[k]; ok {
				if _, taken := used[p]; !taken {
					sp.NodePort = p
					used[p] = k
					continue
				}
			}
			p, err := freeNodePort(k, used)
			if err != nil {
				return fmt.Errorf("service %s/%s: %w", svc.Namespace, svc.Name, err)
			}
			sp.NodePort = p
			used[p] = k
		}
	}
	return nil
}

// servicePortKey names a Service port across plays: by its name, else
// its protocol and number.
func servicePortKey(svc *corev1.Service, sp corev1.ServicePort) string {
	id := sp.Name
	if id == "" {
		id = fmt.Sprintf("%s/%d", protocolOf(sp.Protocol), sp.Port)
	}
	return svc.Namespace + "/" + svc.Name + "/" + id
}

// freeNodePort probes the range from k's hash.
func freeNodePort(k string, used map[int32]string) (int32, error) {
	const n = NodePortMax - NodePortMin + 1
	f := fnv.New32a()
	f.Write([]byte(k))
	start := int32(f.Sum32() % n)
	for i := int32(0); i < n; i++ {
		p := NodePortMin + (start+i)%n
		if _, taken := used[p]; !taken {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free node port in %d-%d: %w", NodePortMin, NodePortMax, errdefs.ErrResourceExhausted)
}
