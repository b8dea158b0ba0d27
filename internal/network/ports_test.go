package network

import (
	"net/netip"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestPortBindings(t *testing.T) {
	tcp, udp, sctp := runtimeapi.Protocol_TCP, runtimeapi.Protocol_UDP, runtimeapi.Protocol_SCTP
	pm := func(proto runtimeapi.Protocol, cport, hport int32, hip string) *runtimeapi.PortMapping {
		return &runtimeapi.PortMapping{Protocol: proto, ContainerPort: cport, HostPort: hport, HostIp: hip}
	}
	tests := []struct {
		name    string
		in      []*runtimeapi.PortMapping
		want    map[string][]string // "80/tcp" → ["ip:port", …]
		wantErr bool
	}{
		{name: "none", in: nil, want: map[string][]string{}},
		{name: "tcp", in: []*runtimeapi.PortMapping{pm(tcp, 80, 8080, "")}, want: map[string][]string{"80/tcp": {":8080"}}},
		{name: "udp and sctp", in: []*runtimeapi.PortMapping{pm(udp, 53, 5353, ""), pm(sctp, 9, 9009, "")},
			want: map[string][]string{"53/udp": {":5353"}, "9/sctp": {":9009"}}},
		{name: "host ip", in: []*runtimeapi.PortMapping{pm(tcp, 80, 8080, "127.0.0.1")},
			want: map[string][]string{"80/tcp": {"127.0.0.1:8080"}}},
		{name: "ipv6 host ip", in: []*runtimeapi.PortMapping{pm(tcp, 80, 8080, "::1")},
			want: map[string][]string{"80/tcp": {"::1:8080"}}},
		{name: "no host port is not published", in: []*runtimeapi.PortMapping{pm(tcp, 80, 0, "")}, want: map[string][]string{}},
		{name: "two host ports for one container port",
			in:   []*runtimeapi.PortMapping{pm(tcp, 80, 8080, ""), pm(tcp, 80, 8081, "127.0.0.1")},
			want: map[string][]string{"80/tcp": {":8080", "127.0.0.1:8081"}}},
		{name: "same number, two protocols", in: []*runtimeapi.PortMapping{pm(tcp, 53, 1053, ""), pm(udp, 53, 1053, "")},
			want: map[string][]string{"53/tcp": {":1053"}, "53/udp": {":1053"}}},
		{name: "nil entry skipped", in: []*runtimeapi.PortMapping{nil, pm(tcp, 1, 2, "")}, want: map[string][]string{"1/tcp": {":2"}}},
		{name: "container port zero", in: []*runtimeapi.PortMapping{pm(tcp, 0, 8080, "")}, wantErr: true},
		{name: "container port too big", in: []*runtimeapi.PortMapping{pm(tcp, 70000, 8080, "")}, wantErr: true},
		{name: "host port negative", in: []*runtimeapi.PortMapping{pm(tcp, 80, -1, "")}, wantErr: true},
		{name: "host port too big", in: []*runtimeapi.PortMapping{pm(tcp, 80, 65536, "")}, wantErr: true},
		{name: "bad host ip", in: []*runtimeapi.PortMapping{pm(tcp, 80, 8080, "localhost")}, wantErr: true},
		{name: "unknown protocol", in: []*runtimeapi.PortMapping{pm(runtimeapi.Protocol(7), 80, 8080, "")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exposed, bindings, err := portBindings(tt.in)
			if tt.wantErr {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("err = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for port, bs := range bindings {
				if _, ok := exposed[port]; !ok {
					t.Errorf("%s bound but not exposed", port)
				}
				for _, b := range bs {
					ip := ""
					if b.HostIP.IsValid() {
						ip = b.HostIP.String()
					}
					got[port.String()] = append(got[port.String()], ip+":"+b.HostPort)
				}
			}
			if len(exposed) != len(bindings) {
				t.Errorf("exposed %v, bindings %v", exposed, bindings)
			}
			if !equalBindings(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func equalBindings(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}

func TestPortBindingsZeroHostIP(t *testing.T) {
	_, b, err := portBindings([]*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	got := b[network.MustParsePort("80/tcp")]
	if len(got) != 1 || got[0].HostIP != (netip.Addr{}) {
		t.Fatalf("binding = %+v, want zero host IP (all addresses)", got)
	}
}
