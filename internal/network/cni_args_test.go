package network

import (
	"math"
	"reflect"
	"testing"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestPortMappingsArg(t *testing.T) {
	tests := []struct {
		name    string
		in      []*runtimeapi.PortMapping
		want    []portMapping
		wantErr bool
	}{
		{name: "none", want: []portMapping{}},
		{name: "tcp udp sctp with host ip", in: []*runtimeapi.PortMapping{
			{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: 8080},
			{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53, HostPort: 5353, HostIp: "127.0.0.1"},
			{Protocol: runtimeapi.Protocol_SCTP, ContainerPort: 9, HostPort: 9009},
		}, want: []portMapping{
			{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
			{HostPort: 5353, ContainerPort: 53, Protocol: "udp", HostIP: "127.0.0.1"},
			{HostPort: 9009, ContainerPort: 9, Protocol: "sctp"},
		}},
		{name: "no host port skipped", in: []*runtimeapi.PortMapping{{ContainerPort: 80}, nil}, want: []portMapping{}},
		{name: "bad container port", in: []*runtimeapi.PortMapping{{ContainerPort: 0, HostPort: 1}}, wantErr: true},
		{name: "bad host port", in: []*runtimeapi.PortMapping{{ContainerPort: 1, HostPort: 70000}}, wantErr: true},
		{name: "bad host ip even without host port", in: []*runtimeapi.PortMapping{{ContainerPort: 1, HostIp: "x"}}, wantErr: true},
		{name: "bad protocol", in: []*runtimeapi.PortMapping{{ContainerPort: 1, HostPort: 1, Protocol: 9}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := portMappingsArg(tt.in)
			if tt.wantErr {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("err = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{in: "100", want: 100},
		{in: "10k", want: 10_000},
		{in: "10M", want: 10_000_000},
		{in: "1G", want: 1_000_000_000},
		{in: "2Mi", want: 2 << 20},
		{in: "1Ki", want: 1024},
		{in: "", wantErr: true},
		{in: "0", wantErr: true},
		{in: "1.5M", wantErr: true},
		{in: "-1M", wantErr: true},
		{in: "M", wantErr: true},
		{in: "10X", wantErr: true},
		{in: "100000000P", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseQuantity(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseQuantity(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBandwidthArg(t *testing.T) {
	if bw, err := bandwidthArg(nil); bw != nil || err != nil {
		t.Errorf("no annotations: %v, %v", bw, err)
	}
	bw, err := bandwidthArg(map[string]string{annotationIngressBandwidth: "1M"})
	if err != nil || *bw != (bandwidth{IngressRate: 1e6, IngressBurst: math.MaxInt32}) {
		t.Errorf("ingress: %+v, %v", bw, err)
	}
	bw, err = bandwidthArg(map[string]string{annotationEgressBandwidth: "2k"})
	if err != nil || *bw != (bandwidth{EgressRate: 2000, EgressBurst: math.MaxInt32}) {
		t.Errorf("egress: %+v, %v", bw, err)
	}
	if _, err := bandwidthArg(map[string]string{annotationEgressBandwidth: "fast"}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad annotation: err = %v", err)
	}
}

func TestRuntimeConf(t *testing.T) {
	p := &cniPlugin{ifName: "eth0"}
	pod := &Pod{
		ID: "abc", Name: "web", Namespace: "ns", UID: "u-1",
		PortMappings: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 8080}},
		DNS:          &runtimeapi.DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"ns.svc"}},
		Annotations:  map[string]string{annotationIngressBandwidth: "1M"},
		CgroupParent: "/kubepods/pod-u-1",
	}
	rt, err := p.runtimeConf(pod, "/proc/1/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "ns"}, {"K8S_POD_NAME", "web"},
		{"K8S_POD_INFRA_CONTAINER_ID", "abc"}, {"K8S_POD_UID", "u-1"}}
	if !reflect.DeepEqual(rt.Args, wantArgs) || rt.ContainerID != "abc" || rt.IfName != "eth0" || rt.NetNS != "/proc/1/ns/net" {
		t.Errorf("runtime conf = %+v", rt)
	}
	for _, k := range []string{"portMappings", "dns", "bandwidth", "cgroupPath", "io.kubernetes.cri.pod-annotations"} {
		if _, ok := rt.CapabilityArgs[k]; !ok {
			t.Errorf("capability %q missing: %v", k, rt.CapabilityArgs)
		}
	}
	rt, err = p.runtimeConf(&Pod{ID: "x"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.CapabilityArgs) != 1 || rt.CapabilityArgs["portMappings"] == nil {
		t.Errorf("bare pod capabilities = %v, want only (empty) portMappings", rt.CapabilityArgs)
	}
}

func TestIsPlainID(t *testing.T) {
	for id, want := range map[string]bool{
		"9edf0f1a64914020249d0811f6cb8d563ca3564c01960abac064207a9c8e4324": true,
		"pod-1_a.b": true,
		"":          false,
		".":         false,
		"..":        false,
		"a/b":       false,
		"a*":        false,
		"a?b":       false,
		"[ab]":      false,
		"a b":       false,
	} {
		if got := isPlainID(id); got != want {
			t.Errorf("isPlainID(%q) = %v, want %v", id, got, want)
		}
	}
}
