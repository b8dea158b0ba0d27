package network_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// cniEnv is a dltnet bridge network in temp dirs.
type cniEnv struct {
	*integrationEnv
	*testutil.CNINet
	cfg network.Config
}

func newCNIEnv(t *testing.T) *cniEnv {
	t.Helper()
	env := newIntegrationEnv(t)
	testutil.RequireCNI(t, "bridge", "host-local", "loopback", "portmap", "firewall")
	n := testutil.NewCNINet(t, testutil.CNINetOptions{Prefix: "dltnet", IPMasq: true, Hairpin: true, DefaultRoute: true,
		Chain: []string{"firewall", "portmap"}})
	return &cniEnv{integrationEnv: env, CNINet: n, cfg: network.Config{
		Plugin:      network.PluginCNI,
		CNIBinDirs:  []string{testutil.CNIPluginDir},
		CNIConfDir:  n.ConfDir,
		CNICacheDir: n.CacheDir,
		CNINetNSDir: n.NetNSDir,
	}}
}

// plugin returns a fresh plugin, as a (re)started server would build it.
func (e *cniEnv) plugin(t *testing.T) network.Plugin {
	t.Helper()
	p, err := network.New(e.eng, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Status(); err != nil {
		t.Fatalf("Status = %v", err)
	}
	return p
}

// sandbox starts a pause-like container the way the CRI server would:
// Prepare, create, start, SetUp.
func (e *cniEnv) sandbox(t *testing.T, p network.Plugin, pod *network.Pod) (netns string) {
	t.Helper()
	ctx := context.Background()
	spec := engine.CreateSpec{Name: "dltnet-cni-" + pod.Name + "-" + randHex(t, 4)}
	if err := p.Prepare(ctx, pod, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.HostConfig.NetworkMode != "none" {
		t.Fatalf("NetworkMode = %q, want none", spec.HostConfig.NetworkMode)
	}
	id, pid := e.run(t, spec, "sleep", "3600")
	pod.ID = id
	netns = fmt.Sprintf("/proc/%d/ns/net", pid)
	t.Cleanup(func() { _ = p.TearDown(context.Background(), pod, "") }) // on failure paths
	res, err := p.SetUp(ctx, pod, netns)
	if err != nil {
		t.Fatalf("SetUp %s: %v", pod.Name, err)
	}
	if len(res.IPs) != 1 {
		t.Fatalf("SetUp %s: IPs %v, want one", pod.Name, res.IPs)
	}
	ip, err := netip.ParseAddr(res.IPs[0])
	if err != nil || !e.Subnet.Contains(ip) {
		t.Fatalf("SetUp %s: IP %q not in %s", pod.Name, res.IPs[0], e.Subnet)
	}
	return netns
}

func TestIntegrationCNI(t *testing.T) {
	e := newCNIEnv(t)
	ctx := context.Background()
	p := e.plugin(t)
	hostPort := freePort(t)

	web := &network.Pod{Name: "web", Namespace: "dltnet", UID: "uid-web",
		PortMappings: []*runtimeapi.PortMapping{{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: hostPort}}}
	client := &network.Pod{Name: "client", Namespace: "dltnet", UID: "uid-client"}
	webNS := e.sandbox(t, p, web)
	e.sandbox(t, p, client)

	webIPs, err := p.IPs(ctx, web, nil)
	if err != nil || len(webIPs) != 1 {
		t.Fatalf("IPs(web) = %v, %v", webIPs, err)
	}
	clientIPs, err := p.IPs(ctx, client, nil)
	if err != nil || len(clientIPs) != 1 || clientIPs[0] == webIPs[0] {
		t.Fatalf("IPs(client) = %v, %v (web %v)", clientIPs, err, webIPs)
	}
	// The IP is what the pod's interface really has.
	if out, _ := e.exec(t, web.ID, "ip", "-4", "addr", "show", "eth0"); !strings.Contains(out, webIPs[0]+"/") {
		t.Fatalf("eth0 of web lacks %s:\n%s", webIPs[0], out)
	}
	// lo is up: set in-process, with no loopback plugin run.
	if out, _ := e.exec(t, web.ID, "ip", "link", "show", "lo"); !strings.Contains(out, ",UP") {
		t.Fatalf("lo of web is not up:\n%s", out)
	}
	// A restarted server knows the IPs without running anything.
	if ips, err := e.plugin(t).IPs(ctx, web, nil); err != nil || !slices.Equal(ips, webIPs) {
		t.Fatalf("IPs after restart = %v, %v", ips, err)
	}

	if out, code := e.exec(t, web.ID, "sh", "-c", "mkdir -p /tmp/www && echo hello-dltnet-pod > /tmp/www/index.html && httpd -p 80 -h /tmp/www"); code != 0 {
		t.Fatalf("start httpd (exit %d): %s", code, out)
	}
	// Pod to pod over the bridge. (busybox-static's wget crashes with -q/-T
	// here; plain -O - is fine.)
	eventually(t, "pod-to-pod wget", func() error {
		out, code := e.exec(t, client.ID, "wget", "-O", "-", "http://"+webIPs[0]+"/index.html")
		if code != 0 || !strings.Contains(out, "hello-dltnet-pod") {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	// Host port through portmap, from 127.0.0.1.
	eventually(t, "host port on 127.0.0.1", func() error {
		body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort))
		if err == nil && !strings.Contains(body, "hello-dltnet-pod") {
			err = fmt.Errorf("unexpected body %q", body)
		}
		return err
	})

	// While up: two veths on the bridge, two reservations, rules for both.
	if n := len(e.BridgePorts(t)); n != 2 {
		t.Fatalf("bridge ports = %d, want 2", n)
	}
	if got := e.Reservations(t); !slices.Equal(got, sorted(webIPs[0], clientIPs[0])) {
		t.Fatalf("IPAM reservations = %v", got)
	}
	if !strings.Contains(iptablesSave(t), web.ID) || !strings.Contains(iptablesSave(t), "CNI-DN-") {
		t.Fatal("no portmap rules for web")
	}

	// web: a normal StopPodSandbox, the container still running.
	if err := p.TearDown(ctx, web, webNS); err != nil {
		t.Fatal(err)
	}
	// client: the container is removed first and the server restarted
	// without a checkpoint (no netns path).
	if err := e.eng.RemoveContainer(ctx, client.ID, engine.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	p2 := e.plugin(t)
	if err := p2.TearDown(ctx, client, ""); err != nil {
		t.Fatal(err)
	}
	// Both again: idempotent.
	for _, pod := range []*network.Pod{web, client} {
		if err := p2.TearDown(ctx, pod, ""); err != nil {
			t.Fatalf("second TearDown %s: %v", pod.Name, err)
		}
	}

	if ports := e.BridgePorts(t); len(ports) != 0 {
		t.Errorf("veths left on %s: %v", e.Bridge, ports)
	}
	if got := e.Reservations(t); len(got) != 0 {
		t.Errorf("IPAM reservations left: %v", got)
	}
	save := iptablesSave(t)
	for _, needle := range []string{web.ID, client.ID, webIPs[0] + "/32", clientIPs[0] + "/32", "CNI-DN-"} {
		if strings.Contains(save, needle) {
			t.Errorf("iptables still mentions %s:\n%s", needle, grepLines(save, needle))
		}
	}
	for _, dir := range []string{filepath.Join(e.cfg.CNICacheDir, "results"), e.cfg.CNINetNSDir} {
		if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
			t.Errorf("left in %s: %v", dir, left)
		}
	}
	if ips, err := p2.IPs(ctx, web, nil); err != nil || len(ips) != 0 {
		t.Errorf("IPs after teardown = %v, %v", ips, err)
	}
}

// Status follows the conf dir on the real plugins too.
func TestIntegrationCNIStatus(t *testing.T) {
	e := newCNIEnv(t)
	empty := e.cfg
	empty.CNIConfDir = t.TempDir()
	p, err := network.New(e.eng, empty)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Status(); err == nil || !strings.Contains(err.Error(), "NetworkPluginNotReady") {
		t.Fatalf("empty conf dir: Status = %v", err)
	}
	conf, err := os.ReadFile(filepath.Join(e.cfg.CNIConfDir, "10-dltnet.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty.CNIConfDir, "10-dltnet.conflist"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Status(); err != nil {
		t.Fatalf("after writing a config: Status = %v", err)
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func iptablesSave(t *testing.T) string {
	t.Helper()
	return hostCmd(t, "iptables-save")
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
