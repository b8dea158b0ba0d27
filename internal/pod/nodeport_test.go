package pod

import (
	"testing"

	"github.com/containerd/errdefs"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func npApplied(source string, svcs ...*corev1.Service) *Applied {
	return &Applied{Source: source, SourceID: SourceID(source), Services: svcs}
}

func npService(name string, typ corev1.ServiceType, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app"}, Spec: corev1.ServiceSpec{Type: typ, Ports: ports}}
}

func TestAllocateNodePorts(t *testing.T) {
	mk := func() *Applied {
		return npApplied("/f.yaml",
			npService("web", corev1.ServiceTypeNodePort, corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
				corev1.ServicePort{Name: "https", Port: 443}),
			npService("lb", corev1.ServiceTypeLoadBalancer, corev1.ServicePort{Port: 8080}),
			npService("inner", "", corev1.ServicePort{Port: 80}),
			npService("fixed", corev1.ServiceTypeNodePort, corev1.ServicePort{Port: 81, NodePort: 30081}))
	}
	a := mk()
	if err := AllocateNodePorts(a, nil, nil); err != nil {
		t.Fatal(err)
	}
	seen := map[int32]bool{}
	for _, svc := range a.Services {
		for _, sp := range svc.Spec.Ports {
			switch {
			case svc.Name == "inner" && sp.NodePort != 0:
				t.Errorf("a ClusterIP Service got node port %d", sp.NodePort)
			case svc.Name == "fixed" && sp.NodePort != 30081:
				t.Errorf("a given nodePort changed: %d", sp.NodePort)
			case svc.Name != "inner" && (sp.NodePort < NodePortMin || sp.NodePort > NodePortMax || seen[sp.NodePort]):
				t.Errorf("%s: node port %d out of range or given twice", svc.Name, sp.NodePort)
			}
			seen[sp.NodePort] = true
		}
	}
	// Deterministic: the same file gets the same ports.
	b := mk()
	if err := AllocateNodePorts(b, nil, nil); err != nil {
		t.Fatal(err)
	}
	if b.Services[0].Spec.Ports[0].NodePort != a.Services[0].Spec.Ports[0].NodePort {
		t.Error("allocation is not deterministic")
	}
	// Kept from the last play even when another source has since taken
	// the port the hash would give.
	prev := npApplied("/f.yaml", npService("web", corev1.ServiceTypeNodePort, corev1.ServicePort{Name: "http", Port: 80, NodePort: 31999}))
	hashed := a.Services[0].Spec.Ports[0].NodePort
	other := npApplied("/other.yaml", npService("x", corev1.ServiceTypeNodePort, corev1.ServicePort{Port: 1, NodePort: hashed}))
	c := mk()
	if err := AllocateNodePorts(c, prev, []*Applied{other}); err != nil {
		t.Fatal(err)
	}
	if got := c.Services[0].Spec.Ports[0].NodePort; got != 31999 {
		t.Errorf("re-play: node port %d, want the recorded 31999", got)
	}
	// Another source's port is not given again.
	d := mk()
	if err := AllocateNodePorts(d, nil, []*Applied{other}); err != nil {
		t.Fatal(err)
	}
	if got := d.Services[0].Spec.Ports[0].NodePort; got == hashed {
		t.Errorf("node port %d given twice", got)
	}
	// A given nodePort another source holds is a conflict.
	taken := npApplied("/other.yaml", npService("y", corev1.ServiceTypeNodePort, corev1.ServicePort{Port: 1, NodePort: 30081}))
	if err := AllocateNodePorts(mk(), nil, []*Applied{taken}); !errdefs.IsConflict(err) {
		t.Errorf("conflicting nodePort: %v", err)
	}
}
