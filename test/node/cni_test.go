package node

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The CNI plugins a cluster node's network needs at least, from Debian's
// containernetworking-plugins.
var cniPluginDirs = []string{"/opt/cni/bin", "/usr/lib/cni"}

const cniBridge = "dlnode0"

// cniNetwork prepares a bridge network (bridge + host-local + portmap) on a
// free 10.N.0.0/16 for dockerlet's --network-plugin cni, as a cluster node
// runs it, and returns dockerlet's flags for it.
func (n *Node) cniNetwork(t *testing.T) []string {
	t.Helper()
	unavailable := t.Skipf
	if os.Getenv("DOCKERLET_E2E") == "1" {
		unavailable = t.Fatalf
	}
	bin := ""
	for _, d := range cniPluginDirs {
		if _, err := os.Stat(filepath.Join(d, "bridge")); err == nil {
			bin = d
			break
		}
	}
	if bin == "" {
		unavailable("CNI plugins missing in %v (apt-get install containernetworking-plugins)", cniPluginDirs)
	}
	_ = exec.Command("ip", "link", "del", cniBridge).Run() // a killed run's
	n.Subnet = freeSubnet(t)
	dir := filepath.Join(n.Dir, "cni")
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	list := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "dlnode", "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}`, cniBridge, filepath.Join(dir, "ipam"), n.Subnet)
	if err := os.WriteFile(filepath.Join(conf, "10-dlnode.conflist"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	// Registered before the server starts, so it runs after the pods are gone.
	t.Cleanup(func() {
		if err := exec.Command("ip", "link", "del", cniBridge).Run(); err != nil {
			t.Logf("ip link del %s: %v", cniBridge, err)
		}
	})
	return []string{"--network-plugin", "cni", "--cni-bin-dir", bin, "--cni-conf-dir", conf,
		"--cni-cache-dir", filepath.Join(dir, "cache"), "--cni-netns-dir", filepath.Join(dir, "netns")}
}

// freeSubnet picks a 10.N.0.0/16 no route uses (N from 60; the project's
// other CNI tests start at 78).
func freeSubnet(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "-4", "route").Output()
	if err != nil {
		t.Fatalf("ip route: %v", err)
	}
	for n := 60; n < 78; n++ {
		if !strings.Contains(string(out), fmt.Sprintf("10.%d.", n)) {
			return fmt.Sprintf("10.%d.0.0/16", n)
		}
	}
	t.Fatalf("no free 10.N.0.0/16 subnet:\n%s", out)
	return ""
}

// inSubnet reports whether ip is in the node's CNI subnet (true in docker
// mode, where there is none to check).
func (n *Node) inSubnet(ip string) bool {
	if n.Subnet == "" {
		return true
	}
	a, err := netip.ParseAddr(ip)
	return err == nil && netip.MustParsePrefix(n.Subnet).Contains(a)
}

// TestNodeCNI is TestNode on a CNI bridge, the way a cluster node runs
// dockerlet: pod IPs from the CNI network's IPAM, probes and port-forward
// over it.
func TestNodeCNI(t *testing.T) {
	n := startNode(t, nodeOptions{Run: "cni", CNI: true})
	runNodeTests(t, n)
}
