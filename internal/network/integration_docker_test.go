package network_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/network"
)

// Docker mode on the real daemon: the sandbox gets an address on Docker's
// bridge, and its host port answers on 127.0.0.1.
func TestIntegrationDockerMode(t *testing.T) {
	env := newIntegrationEnv(t)
	ctx := context.Background()
	p, err := network.New(env.eng, network.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hostPort := freePort(t)
	pod := &network.Pod{Name: "web", Namespace: "dltnet", UID: "uid-docker",
		PortMappings: []*runtimeapi.PortMapping{
			{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: hostPort, HostIp: "127.0.0.1"},
			{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 8080}, // not published
		}}
	spec := engine.CreateSpec{Name: "dltnet-docker-" + randHex(t, 4)}
	if err := p.Prepare(ctx, pod, &spec); err != nil {
		t.Fatal(err)
	}
	id, pid := env.run(t, spec, httpdCmd("hello-docker-mode")...)
	pod.ID = id

	res, err := p.SetUp(ctx, pod, fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IPs) == 0 {
		t.Fatal("no pod IP")
	}
	ip, err := netip.ParseAddr(res.IPs[0])
	if err != nil || !ip.Is4() {
		t.Fatalf("primary IP %q is not IPv4: %v", res.IPs[0], err)
	}
	ins, err := env.eng.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ips, err := p.IPs(ctx, pod, ins)
	if err != nil || !slices.Equal(ips, res.IPs) {
		t.Fatalf("IPs = %v, %v; SetUp said %v", ips, err, res.IPs)
	}
	if n := len(ins.NetworkSettings.Ports); n == 0 {
		t.Fatalf("no published ports: %+v", ins.NetworkSettings.Ports)
	}
	for port, b := range ins.NetworkSettings.Ports {
		if port.Num() == 8080 && len(b) > 0 {
			t.Errorf("container port without host port was published: %v", b)
		}
	}

	eventually(t, "host port on 127.0.0.1", func() error {
		body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort))
		if err == nil && !strings.Contains(body, "hello-docker-mode") {
			err = fmt.Errorf("unexpected body %q", body)
		}
		return err
	})
	eventually(t, "pod IP from the host", func() error {
		_, err := httpGet("http://" + res.IPs[0] + "/index.html")
		return err
	})
	if err := p.TearDown(ctx, pod, ""); err != nil {
		t.Fatal(err)
	}
}

// A host-network pod runs in the host's namespace and reports no pod IP of
// its own.
func TestIntegrationDockerHostNetwork(t *testing.T) {
	env := newIntegrationEnv(t)
	ctx := context.Background()
	p, err := network.New(env.eng, network.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pod := &network.Pod{Name: "hostnet", Namespace: "dltnet", HostNetwork: true}
	spec := engine.CreateSpec{Name: "dltnet-hostnet-" + randHex(t, 4)}
	if err := p.Prepare(ctx, pod, &spec); err != nil {
		t.Fatal(err)
	}
	id, _ := env.run(t, spec, "sleep", "300")
	pod.ID = id
	ins, err := env.eng.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !ins.HostConfig.NetworkMode.IsHost() {
		t.Fatalf("NetworkMode = %q", ins.HostConfig.NetworkMode)
	}
	if ips, err := p.IPs(ctx, pod, ins); err != nil || len(ips) != 0 {
		t.Fatalf("IPs = %v, %v", ips, err)
	}
	out, code := env.exec(t, id, "cat", "/proc/net/dev")
	if code != 0 || !strings.Contains(out, "docker0") {
		t.Errorf("container does not see the host's interfaces (exit %d): %s", code, out)
	}
}
