package network

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// inspectOnly is an engine that answers InspectContainer only; anything
// else panics through the nil embedded interface, which the tests would see.
type inspectOnly struct {
	engine.Engine
	resp map[string]*container.InspectResponse
}

func (e inspectOnly) InspectContainer(_ context.Context, id string) (*container.InspectResponse, error) {
	r, ok := e.resp[id]
	if !ok {
		return nil, errdefs.ErrNotFound
	}
	return r, nil
}

func newDockerForTest(t *testing.T, eng engine.Engine, netName string) Plugin {
	t.Helper()
	p, err := New(eng, Config{DockerNetwork: netName})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewSelectsPlugin(t *testing.T) {
	eng := inspectOnly{}
	for _, name := range []string{"", "docker"} {
		p, err := New(eng, Config{Plugin: name})
		if err != nil || p.Name() != PluginDocker {
			t.Errorf("New(%q) = %v, %v; want docker plugin", name, p, err)
		}
	}
	if _, err := New(eng, Config{Plugin: "weave"}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("unknown plugin: err = %v, want ErrInvalidArgument", err)
	}
	if _, err := New(nil, Config{}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("docker without engine: err = %v, want ErrInvalidArgument", err)
	}
}

func TestDockerPrepare(t *testing.T) {
	ctx := context.Background()
	pm := []*runtimeapi.PortMapping{
		{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: 8080, HostIp: "127.0.0.1"},
		{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53},
	}
	t.Run("default bridge with ports", func(t *testing.T) {
		spec := &engine.CreateSpec{}
		p := newDockerForTest(t, inspectOnly{}, "")
		if err := p.Prepare(ctx, &Pod{ID: "x", PortMappings: pm}, spec); err != nil {
			t.Fatal(err)
		}
		if spec.HostConfig.NetworkMode != "bridge" {
			t.Errorf("NetworkMode = %q, want bridge", spec.HostConfig.NetworkMode)
		}
		port := network.MustParsePort("80/tcp")
		b := spec.HostConfig.PortBindings[port]
		if len(b) != 1 || b[0].HostPort != "8080" || b[0].HostIP != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("PortBindings = %v", spec.HostConfig.PortBindings)
		}
		if len(spec.HostConfig.PortBindings) != 1 {
			t.Errorf("container port without host port was published: %v", spec.HostConfig.PortBindings)
		}
		if _, ok := spec.Config.ExposedPorts[port]; !ok {
			t.Errorf("ExposedPorts = %v", spec.Config.ExposedPorts)
		}
	})
	t.Run("configured network keeps existing exposed ports", func(t *testing.T) {
		other := network.MustParsePort("9/tcp")
		spec := &engine.CreateSpec{Config: &container.Config{ExposedPorts: network.PortSet{other: {}}}}
		p := newDockerForTest(t, inspectOnly{}, "dltnet-users")
		if err := p.Prepare(ctx, &Pod{PortMappings: pm}, spec); err != nil {
			t.Fatal(err)
		}
		if spec.HostConfig.NetworkMode != "dltnet-users" {
			t.Errorf("NetworkMode = %q", spec.HostConfig.NetworkMode)
		}
		if len(spec.Config.ExposedPorts) != 2 {
			t.Errorf("ExposedPorts = %v", spec.Config.ExposedPorts)
		}
	})
	t.Run("host network", func(t *testing.T) {
		spec := &engine.CreateSpec{}
		p := newDockerForTest(t, inspectOnly{}, "")
		if err := p.Prepare(ctx, &Pod{HostNetwork: true, PortMappings: pm}, spec); err != nil {
			t.Fatal(err)
		}
		if spec.HostConfig.NetworkMode != "host" || spec.HostConfig.PortBindings != nil {
			t.Errorf("host network: mode %q bindings %v", spec.HostConfig.NetworkMode, spec.HostConfig.PortBindings)
		}
	})
	t.Run("bad port", func(t *testing.T) {
		p := newDockerForTest(t, inspectOnly{}, "")
		err := p.Prepare(ctx, &Pod{PortMappings: []*runtimeapi.PortMapping{{ContainerPort: -3, HostPort: 1}}}, &engine.CreateSpec{})
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("err = %v, want ErrInvalidArgument", err)
		}
	})
	t.Run("nil spec", func(t *testing.T) {
		p := newDockerForTest(t, inspectOnly{}, "")
		if err := p.Prepare(ctx, &Pod{}, nil); !errdefs.IsInvalidArgument(err) {
			t.Errorf("err = %v, want ErrInvalidArgument", err)
		}
	})
}

func inspectWith(mode string, nets map[string]*network.EndpointSettings) *container.InspectResponse {
	return &container.InspectResponse{
		HostConfig:      &container.HostConfig{NetworkMode: container.NetworkMode(mode)},
		NetworkSettings: &container.NetworkSettings{Networks: nets},
	}
}

func TestDockerIPs(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		name    string
		netName string
		pod     *Pod
		ins     *container.InspectResponse
		want    []string
		wantErr bool
	}{
		{name: "ipv4", ins: inspectWith("bridge", map[string]*network.EndpointSettings{
			"bridge": {IPAddress: ip("172.17.0.5")}}), want: []string{"172.17.0.5"}},
		{name: "dual stack", ins: inspectWith("bridge", map[string]*network.EndpointSettings{
			"bridge": {IPAddress: ip("172.17.0.5"), GlobalIPv6Address: ip("fd00::5")}}),
			want: []string{"172.17.0.5", "fd00::5"}},
		{name: "configured network first", netName: "b", ins: inspectWith("b", map[string]*network.EndpointSettings{
			"a": {IPAddress: ip("10.0.0.1")}, "b": {IPAddress: ip("10.0.0.2")}}),
			want: []string{"10.0.0.2", "10.0.0.1"}},
		{name: "not yet addressed", ins: inspectWith("bridge", map[string]*network.EndpointSettings{"bridge": {}}), want: nil},
		{name: "nil endpoint", ins: inspectWith("bridge", map[string]*network.EndpointSettings{"bridge": nil}), want: nil},
		{name: "no network settings", ins: &container.InspectResponse{}, want: nil},
		{name: "host mode", ins: inspectWith("host", map[string]*network.EndpointSettings{
			"host": {IPAddress: ip("10.0.0.1")}}), want: nil},
		{name: "host network pod", pod: &Pod{HostNetwork: true}, want: nil},
		{name: "nil inspect", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newDockerForTest(t, inspectOnly{}, tt.netName)
			pod := tt.pod
			if pod == nil {
				pod = &Pod{}
			}
			got, err := p.IPs(context.Background(), pod, tt.ins)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("IPs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDockerSetUp(t *testing.T) {
	ctx := context.Background()
	eng := inspectOnly{resp: map[string]*container.InspectResponse{
		"sb1": inspectWith("bridge", map[string]*network.EndpointSettings{"bridge": {IPAddress: netip.MustParseAddr("172.17.0.9")}}),
	}}
	p := newDockerForTest(t, eng, "")
	res, err := p.SetUp(ctx, &Pod{ID: "sb1"}, "/proc/1/ns/net")
	if err != nil || !slices.Equal(res.IPs, []string{"172.17.0.9"}) {
		t.Fatalf("SetUp = %v, %v", res, err)
	}
	if _, err := p.SetUp(ctx, &Pod{ID: "gone"}, ""); !errdefs.IsNotFound(err) {
		t.Errorf("missing sandbox: err = %v, want ErrNotFound", err)
	}
	if err := p.TearDown(ctx, &Pod{ID: "gone"}, ""); err != nil {
		t.Errorf("TearDown = %v", err)
	}
	if err := p.Status(); err != nil {
		t.Errorf("Status = %v", err)
	}
}
