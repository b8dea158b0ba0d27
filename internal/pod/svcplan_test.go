package pod

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func planSvc(name string, typ corev1.ServiceType, ports ...corev1.ServicePort) PlayService {
	return PlayService{Service: &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app"},
		Spec:       corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": "web"}, Ports: ports},
	}}
}

func planEP(name, ip string, ready bool, ports ...corev1.ContainerPort) Endpoint {
	return Endpoint{Namespace: "app", Name: name, UID: "uid-" + name, SandboxID: "sb-" + name, IP: ip,
		Labels: map[string]string{"app": "web"}, Ready: ready, Ports: ports}
}

var httpPort = corev1.ContainerPort{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}

func TestPlanServices(t *testing.T) {
	named := intstr.FromString("http")
	num := intstr.FromInt32(9000)
	tests := []struct {
		name      string
		services  []PlayService
		eps       []Endpoint
		redirects map[string][]Redirect // by pod uid
		published []PublishedPort
		warn      []string // substrings, one warning each
	}{{
		name:     "port equals target: nothing to redirect",
		services: []PlayService{planSvc("web", "", corev1.ServicePort{Port: 8080})},
		eps:      []Endpoint{planEP("web-0", "10.0.0.1", true, httpPort)},
	}, {
		name:      "numeric targetPort: every selected pod with an address, ready or not",
		services:  []PlayService{planSvc("web", "", corev1.ServicePort{Port: 80, TargetPort: num})},
		eps:       []Endpoint{planEP("web-0", "10.0.0.1", true), planEP("web-1", "10.0.0.2", false), planEP("web-2", "", false)},
		redirects: map[string][]Redirect{"uid-web-0": {{"TCP", 80, 9000}}, "uid-web-1": {{"TCP", 80, 9000}}},
	}, {
		name:     "named targetPort resolved per pod; a pod without the name is no endpoint",
		services: []PlayService{planSvc("web", "", corev1.ServicePort{Port: 80, TargetPort: named})},
		eps: []Endpoint{
			planEP("web-0", "10.0.0.1", true, httpPort),
			planEP("web-1", "10.0.0.2", true, corev1.ContainerPort{Name: "http", ContainerPort: 8081}),
			planEP("web-2", "10.0.0.3", true, corev1.ContainerPort{Name: "metrics", ContainerPort: 9090}),
		},
		redirects: map[string][]Redirect{"uid-web-0": {{"TCP", 80, 8080}}, "uid-web-1": {{"TCP", 80, 8081}}},
	}, {
		name:     "named port of another protocol does not match",
		services: []PlayService{planSvc("dns", "", corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: named})},
		eps:      []Endpoint{planEP("web-0", "10.0.0.1", true, httpPort)},
	}, {
		name:      "UDP",
		services:  []PlayService{planSvc("dns", "", corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(5353)})},
		eps:       []Endpoint{planEP("web-0", "10.0.0.1", true)},
		redirects: map[string][]Redirect{"uid-web-0": {{"UDP", 53, 5353}}},
	}, {
		name: "NodePort: ready endpoints only, at their target port",
		services: []PlayService{planSvc("web", corev1.ServiceTypeNodePort,
			corev1.ServicePort{Port: 80, TargetPort: named, NodePort: 30080})},
		eps:       []Endpoint{planEP("web-0", "10.0.0.1", true, httpPort), planEP("web-1", "10.0.0.2", false, httpPort)},
		redirects: map[string][]Redirect{"uid-web-0": {{"TCP", 80, 8080}}, "uid-web-1": {{"TCP", 80, 8080}}},
		published: []PublishedPort{{Service: "app/web", Protocol: "TCP", Addr: "127.0.0.1:30080",
			Backends: []Backend{{Pod: "app/web-0", Addr: "10.0.0.1:8080"}}}},
	}, {
		name: "LoadBalancer: its nodePort and its port, on the publish address",
		services: []PlayService{func() PlayService {
			s := planSvc("web", corev1.ServiceTypeLoadBalancer, corev1.ServicePort{Port: 80, TargetPort: num, NodePort: 31000})
			s.PublishAddress = "0.0.0.0"
			return s
		}()},
		eps:       []Endpoint{planEP("web-0", "10.0.0.1", true)},
		redirects: map[string][]Redirect{"uid-web-0": {{"TCP", 80, 9000}}},
		published: []PublishedPort{
			{Service: "app/web", Protocol: "TCP", Addr: "0.0.0.0:31000", Backends: []Backend{{Pod: "app/web-0", Addr: "10.0.0.1:9000"}}},
			{Service: "app/web", Protocol: "TCP", Addr: "0.0.0.0:80", Backends: []Backend{{Pod: "app/web-0", Addr: "10.0.0.1:9000"}}},
		},
	}, {
		name:      "NodePort with no ready endpoint still listens (and refuses)",
		services:  []PlayService{planSvc("web", corev1.ServiceTypeNodePort, corev1.ServicePort{Port: 80, NodePort: 30081})},
		eps:       []Endpoint{planEP("web-0", "10.0.0.1", false)},
		published: []PublishedPort{{Service: "app/web", Protocol: "TCP", Addr: "127.0.0.1:30081"}},
	}, {
		name: "two Services move one pod's port differently: the first by name wins",
		services: []PlayService{
			planSvc("b", "", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(9090)}),
			planSvc("a", "", corev1.ServicePort{Port: 80, TargetPort: named}),
		},
		eps:       []Endpoint{planEP("web-0", "10.0.0.1", true, httpPort)},
		redirects: map[string][]Redirect{"uid-web-0": {{"TCP", 80, 8080}}},
		warn:      []string{"Service app/b: pod web-0: TCP port 80 already goes to 8080"},
	}, {
		name: "the same mapping from two Services is no conflict; an identity port counts",
		services: []PlayService{
			planSvc("a", "", corev1.ServicePort{Port: 80, TargetPort: named}, corev1.ServicePort{Port: 9000, Name: "x"}),
			planSvc("b", "", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(8080)}),
			planSvc("c", "", corev1.ServicePort{Port: 9000, TargetPort: intstr.FromInt32(9001)}),
		},
		eps:       []Endpoint{planEP("web-0", "10.0.0.1", true, httpPort)},
		redirects: map[string][]Redirect{"uid-web-0": {{"TCP", 80, 8080}}},
		warn:      []string{"Service app/c: pod web-0: TCP port 9000 already goes to 9000"},
	}, {
		name: "a host-network backend is warned, and published on 127.0.0.1",
		services: []PlayService{planSvc("web", corev1.ServiceTypeNodePort,
			corev1.ServicePort{Port: 80, TargetPort: named, NodePort: 30082})},
		eps: []Endpoint{func() Endpoint {
			e := planEP("web-0", "192.168.1.5", true, httpPort)
			e.HostNetwork = true
			return e
		}()},
		published: []PublishedPort{{Service: "app/web", Protocol: "TCP", Addr: "127.0.0.1:30082",
			Backends: []Backend{{Pod: "app/web-0", Addr: "127.0.0.1:8080"}}}},
		warn: []string{"pod web-0 uses the host's network: port 80 cannot be redirected to 8080"},
	}, {
		name: "two Services on one node port: the first by name is published",
		services: []PlayService{
			planSvc("a", corev1.ServiceTypeNodePort, corev1.ServicePort{Port: 80, NodePort: 30083}),
			planSvc("b", corev1.ServiceTypeNodePort, corev1.ServicePort{Port: 81, NodePort: 30083}),
		},
		published: []PublishedPort{{Service: "app/a", Protocol: "TCP", Addr: "127.0.0.1:30083"}},
		warn:      []string{"Service app/b: TCP 127.0.0.1:30083 is already published for Service app/a"},
	}, {
		name:     "other namespaces and unselected pods are left alone",
		services: []PlayService{planSvc("web", "", corev1.ServicePort{Port: 80, TargetPort: num})},
		eps: []Endpoint{
			{Namespace: "other", Name: "web-0", UID: "u1", IP: "10.0.0.1", Labels: map[string]string{"app": "web"}, Ready: true},
			{Namespace: "app", Name: "db-0", UID: "u2", IP: "10.0.0.2", Labels: map[string]string{"app": "db"}, Ready: true},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanServices(tc.services, tc.eps)
			got := map[string][]Redirect{}
			for uid, r := range plan.Redirects {
				if r.UID != uid || r.SandboxID != "sb-"+strings.TrimPrefix(uid, "uid-") || r.IP == "" {
					t.Errorf("redirects of %s: %+v", uid, r)
				}
				got[uid] = r.Rules
			}
			want := tc.redirects
			if want == nil {
				want = map[string][]Redirect{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("redirects:\n got %v\nwant %v", got, want)
			}
			if !reflect.DeepEqual(plan.Published, tc.published) {
				t.Errorf("published:\n got %+v\nwant %+v", plan.Published, tc.published)
			}
			if len(plan.Warnings) != len(tc.warn) {
				t.Fatalf("warnings: %q, want %d", plan.Warnings, len(tc.warn))
			}
			for i, w := range tc.warn {
				if !strings.Contains(plan.Warnings[i], w) {
					t.Errorf("warning %q, want %q in it", plan.Warnings[i], w)
				}
			}
		})
	}
}

// A pod that defines none of a Service's named target ports is left out
// of the Service's name; one that defines it is named.
func TestServiceHostsNamedPort(t *testing.T) {
	var h ServiceHosts
	svc := planSvc("web", "", corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("http")}).Service
	h.Update([]*corev1.Service{svc}, []Endpoint{
		planEP("web-0", "10.0.0.1", true, httpPort),
		planEP("web-1", "10.0.0.2", true),
	})
	got := string(h.Hosts(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "app"}}, ""))
	if !strings.Contains(got, "10.0.0.1\tweb ") || strings.Contains(got, "10.0.0.2") {
		t.Errorf("hosts:\n%s", got)
	}
	if !slices.Equal(PlanServices([]PlayService{{Service: svc}}, nil).Warnings, nil) {
		t.Error("warnings without endpoints")
	}
}
