package e2e

import (
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// newCNIEnv is an env whose server runs in cni mode on a dltwire bridge
// of its own (bridge + host-local + portmap + firewall).
func newCNIEnv(t *testing.T) (*env, *testutil.CNINet) {
	t.Helper()
	testutil.RequireDocker(t)
	testutil.RequireCNI(t, "bridge", "host-local", "loopback", "portmap", "firewall")
	n := testutil.NewCNINet(t, testutil.CNINetOptions{Prefix: wirePrefix, Hairpin: true, Chain: []string{"portmap", "firewall"}})
	cfg := network.Config{
		Plugin: network.PluginCNI, CNIBinDirs: []string{testutil.CNIPluginDir}, CNIConfDir: n.ConfDir,
		CNICacheDir: n.CacheDir, CNINetNSDir: n.NetNSDir,
	}
	return newEnvWith(t, func(e *env) { e.net = cfg }), n
}

// Pod to pod on the bridge, a host port from 127.0.0.1, and a server
// restart between RunPodSandbox and StopPodSandbox that leaves no veth,
// IPAM reservation or iptables rule behind.
func TestCNIPodNetwork(t *testing.T) {
	e, n := newCNIEnv(t)
	ctx := testCtx(t)

	webCfg := e.wirePod("cni-web")
	web := e.runPod(ctx, webCfg)
	e.runIn(ctx, web, webCfg, "web", httpdCmd(8080, "hello-dltwire-cni")...)
	clientCfg := e.wirePod("cni-client")
	client := e.runPod(ctx, clientCfg)
	clientCtr := e.runIn(ctx, client, clientCfg, "client", "sleep", "3600")
	webIP, clientIP := e.podIP(ctx, web), e.podIP(ctx, client)
	for _, ip := range []string{webIP, clientIP} {
		if a, err := netip.ParseAddr(ip); err != nil || !n.Subnet.Contains(a) {
			t.Fatalf("pod IP %q not in %s", ip, n.Subnet)
		}
	}
	// (busybox-static's wget crashes with -q or -T; plain -O - works.)
	eventually(t, "pod-to-pod wget", func() error {
		r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: clientCtr, Timeout: 10,
			Cmd: []string{"wget", "-O", "-", "http://" + webIP + ":8080/index.html"}})
		if err != nil {
			return err
		}
		if r.ExitCode != 0 || !strings.Contains(string(r.Stdout), "hello-dltwire-cni") {
			return fmt.Errorf("exit %d: %s %s", r.ExitCode, r.Stdout, r.Stderr)
		}
		return nil
	})

	// A host port, reached from 127.0.0.1 through portmap.
	hostPort := freeHostPort(t)
	hpCfg := e.wirePod("cni-hostport", &runtimeapi.PortMapping{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 8080, HostPort: hostPort})
	hp := e.runPod(ctx, hpCfg)
	e.runIn(ctx, hp, hpCfg, "web", httpdCmd(8080, "hello-dltwire-cni-hp")...)
	hpIP := e.podIP(ctx, hp)
	eventually(t, "GET on the host port", func() error {
		return httpGetBody(fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort), "hello-dltwire-cni-hp")
	})
	if got := n.Reservations(t); !slices.Equal(got, sorted(webIP, clientIP, hpIP)) {
		t.Fatalf("IPAM reservations %v, want the three pods'", got)
	}
	if ports := n.BridgePorts(t); len(ports) != 3 {
		t.Fatalf("bridge ports %v, want three veths", ports)
	}
	if save := iptablesSave(t); !strings.Contains(save, hp) || !strings.Contains(save, "CNI-DN-") {
		t.Fatal("no portmap rules for the host-port pod")
	}

	// The server restarts between RunPodSandbox and StopPodSandbox.
	e.restart()
	for _, sb := range []string{web, client, hp} {
		if _, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
			t.Fatalf("StopPodSandbox after restart: %v", err)
		}
		if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
			t.Fatalf("RemovePodSandbox after restart: %v", err)
		}
	}
	if ports := n.BridgePorts(t); len(ports) != 0 {
		t.Errorf("veths left on %s: %v", n.Bridge, ports)
	}
	if got := n.Reservations(t); len(got) != 0 {
		t.Errorf("IPAM reservations left: %v", got)
	}
	save := iptablesSave(t)
	for _, needle := range []string{web, client, hp, webIP + "/32", clientIP + "/32", hpIP + "/32", "CNI-DN-"} {
		if strings.Contains(save, needle) {
			t.Errorf("iptables still mentions %s:\n%s", needle, grepLines(save, needle))
		}
	}
	if left, _ := filepath.Glob(filepath.Join(n.NetNSDir, "*")); len(left) != 0 {
		t.Errorf("netns pins left: %v", left)
	}
	if err := httpGetBody(fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort), "hello"); err == nil {
		t.Error("the host port still answers after the pod was removed")
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func iptablesSave(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v: %s", err, out)
	}
	return string(out)
}

func grepLines(s, needle string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, needle) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
