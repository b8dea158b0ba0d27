package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// The CNI network of these tests.
const (
	cniBridge   = wirePrefix + "0"
	cniNetName  = wirePrefix
	cniPlugins  = "/usr/lib/cni" // Debian's containernetworking-plugins
	cniIPAMName = "ipam"
)

// cniNet is the temp conf/cache/netns/IPAM dirs of a bridge network.
type cniNet struct {
	cfg     network.Config
	ipamDir string
	subnet  string // 10.N.0.0/16
}

// freeSubnet picks the first 10.N.0.0/16 (N from 78) that no route on this
// host uses: other test networks come and go on a shared machine.
func freeSubnet(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "-4", "route").Output()
	if err != nil {
		t.Fatalf("ip route: %v", err)
	}
	for n := 78; n < 100; n++ {
		if !strings.Contains(string(out), fmt.Sprintf("10.%d.", n)) {
			return fmt.Sprintf("10.%d.0.0/16", n)
		}
	}
	t.Fatalf("no free 10.N.0.0/16 subnet:\n%s", out)
	return ""
}

// newCNIEnv is an env whose server runs in cni mode on the dltwire0
// bridge (bridge + host-local + firewall + portmap).
func newCNIEnv(t *testing.T) (*env, *cniNet) {
	t.Helper()
	testutil.RequireDocker(t)
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(testutil.E2EEnv) == "1" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if os.Geteuid() != 0 {
		unavailable("CNI e2e needs root (bridges, iptables)")
	}
	for _, tool := range []string{"ip", "iptables", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable("CNI e2e needs %s: %v", tool, err)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap", "firewall"} {
		if _, err := os.Stat(filepath.Join(cniPlugins, p)); err != nil {
			unavailable("CNI plugin missing (apt-get install containernetworking-plugins): %v", err)
		}
	}
	_ = exec.Command("ip", "link", "del", cniBridge).Run() // a crashed run's
	tmp := t.TempDir()
	n := &cniNet{ipamDir: filepath.Join(tmp, cniIPAMName), subnet: freeSubnet(t)}
	confDir := filepath.Join(tmp, "conf")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall"}
  ]
}`, cniNetName, cniBridge, n.ipamDir, n.subnet)
	if err := os.WriteFile(filepath.Join(confDir, "10-dltwire.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.cfg = network.Config{
		Plugin: network.PluginCNI, CNIBinDirs: []string{cniPlugins}, CNIConfDir: confDir,
		CNICacheDir: filepath.Join(tmp, "cache"), CNINetNSDir: filepath.Join(tmp, "netns"),
	}
	t.Cleanup(func() { cleanupCNIHost(t, n.subnet) }) // after the env removed the pods
	e := newEnvWith(t, func(e *env) { e.net = n.cfg })
	return e, n
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
		if a, err := netip.ParseAddr(ip); err != nil || !netip.MustParsePrefix(n.subnet).Contains(a) {
			t.Fatalf("pod IP %q not in %s", ip, n.subnet)
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
	if got := n.reservations(t); !slices.Equal(got, sorted(webIP, clientIP, hpIP)) {
		t.Fatalf("IPAM reservations %v, want the three pods'", got)
	}
	if ports := bridgePorts(t); len(ports) != 3 {
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
	if ports := bridgePorts(t); len(ports) != 0 {
		t.Errorf("veths left on %s: %v", cniBridge, ports)
	}
	if got := n.reservations(t); len(got) != 0 {
		t.Errorf("IPAM reservations left: %v", got)
	}
	save := iptablesSave(t)
	for _, needle := range []string{web, client, hp, webIP + "/32", clientIP + "/32", hpIP + "/32", "CNI-DN-"} {
		if strings.Contains(save, needle) {
			t.Errorf("iptables still mentions %s:\n%s", needle, grepLines(save, needle))
		}
	}
	if left, _ := filepath.Glob(filepath.Join(n.cfg.CNINetNSDir, "*")); len(left) != 0 {
		t.Errorf("netns pins left: %v", left)
	}
	if err := httpGetBody(fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort), "hello"); err == nil {
		t.Error("the host port still answers after the pod was removed")
	}
}

// reservations lists host-local's reserved IPs (one file per IP).
func (n *cniNet) reservations(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(n.ipamDir, cniNetName))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var ips []string
	for _, de := range entries {
		if _, err := netip.ParseAddr(de.Name()); err == nil {
			ips = append(ips, de.Name())
		}
	}
	slices.Sort(ips)
	return ips
}

func sorted(s ...string) []string { slices.Sort(s); return s }

// bridgePorts lists the interfaces enslaved to the test bridge.
func bridgePorts(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "-o", "link", "show", "master", cniBridge).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "does not exist") {
			return nil
		}
		t.Fatalf("ip link show master %s: %v: %s", cniBridge, err, out)
	}
	var ports []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			ports = append(ports, strings.TrimSuffix(f[1], ":"))
		}
	}
	return ports
}

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

// cleanupCNIHost removes the test bridge and any per-pod rule a failed run
// left (rules naming the network, firewall rules in the test subnet). The
// plugins' shared chains (CNI-HOSTPORT-*, CNI-FORWARD, CNI-ADMIN) stay:
// other runtimes on this host may use them.
func cleanupCNIHost(t *testing.T, cidr string) {
	if err := exec.Command("ip", "link", "del", cniBridge).Run(); err != nil {
		t.Logf("cleanup: ip link del %s: %v (already gone?)", cniBridge, err)
	}
	tag := `name: \"` + cniNetName + `\"`
	subnet := strings.TrimSuffix(cidr, "0.0/16")
	for _, table := range []string{"nat", "filter"} {
		out, _ := exec.Command("iptables-save", "-t", table).Output()
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "-A" {
				continue
			}
			switch {
			case strings.Contains(line, tag):
				if i := slices.Index(f, "-j"); i > 0 && i+1 < len(f) && strings.HasPrefix(f[i+1], "CNI-DN-") {
					t.Logf("cleanup: removing leftover chain %s", f[i+1])
					_ = exec.Command("sh", "-c", "iptables -w -t "+table+" "+strings.Replace(line, "-A ", "-D ", 1)).Run()
					_ = exec.Command("iptables", "-w", "-t", table, "-F", f[i+1]).Run()
					_ = exec.Command("iptables", "-w", "-t", table, "-X", f[i+1]).Run()
				}
			case strings.HasPrefix(line, "-A CNI-FORWARD ") && strings.Contains(line, subnet):
				t.Logf("cleanup: removing leftover rule %s", line)
				_ = exec.Command("sh", "-c", "iptables -w -t "+table+" "+strings.Replace(line, "-A ", "-D ", 1)).Run()
			}
		}
	}
}
