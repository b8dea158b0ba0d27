package chaos

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dockerlet/dockerlet/internal/testutil"
)

const (
	cniPluginDir    = "/usr/lib/cni" // Debian's containernetworking-plugins
	cniSubnet       = "10.78.0.0/16"
	cniSubnetPrefix = "10.78."
)

// TestKill9ChaosCNI is the chaos run with CNI pod networking (bridge with
// masquerading, host-local IPAM, firewall): after it, no veth on the
// bridge, no IPAM reservation and no iptables rule of the network is left.
func TestKill9ChaosCNI(t *testing.T) {
	testutil.RequireDocker(t)
	if os.Geteuid() != 0 {
		t.Skip("CNI chaos needs root (bridges, veths, iptables)")
	}
	for _, tool := range []string{"ip", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("CNI chaos needs %s", tool)
		}
	}
	for _, plugin := range []string{"bridge", "host-local", "loopback", "firewall"} {
		if _, err := os.Stat(filepath.Join(cniPluginDir, plugin)); err != nil {
			t.Skipf("CNI plugin missing (containernetworking-plugins): %v", err)
		}
	}
	if out, _ := exec.Command("ip", "-4", "addr").Output(); strings.Contains(string(out), cniSubnetPrefix) {
		t.Skipf("subnet %s is in use on this host", cniSubnet)
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	bridge, netName := "dltrob"+hex.EncodeToString(b[:]), "dltrob-chaos-"+hex.EncodeToString(b[:])
	tmp := t.TempDir()
	ipamDir, confDir := filepath.Join(tmp, "ipam"), filepath.Join(tmp, "conf")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "firewall"}
  ]
}`, netName, bridge, ipamDir, cniSubnet)
	if err := os.WriteFile(filepath.Join(confDir, "10-dltrob.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanupNetwork(bridge, netName) })
	runChaos(t, chaosMode{
		name: "cni",
		serveArgs: []string{"--network-plugin", "cni", "--cni-bin-dir", cniPluginDir,
			"--cni-conf-dir", confDir, "--cni-cache-dir", filepath.Join(tmp, "cache")},
		leaks: func(t *testing.T) string {
			var leaks []string
			if out, _ := exec.Command("ip", "-o", "link", "show", "master", bridge).Output(); len(strings.TrimSpace(string(out))) > 0 {
				leaks = append(leaks, fmt.Sprintf("%d veths on %s", strings.Count(string(out), "\n"), bridge))
			}
			entries, _ := os.ReadDir(filepath.Join(ipamDir, netName))
			n := 0
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), "last_reserved_ip") && e.Name() != "lock" {
					n++
				}
			}
			if n > 0 {
				leaks = append(leaks, fmt.Sprintf("%d IPAM reservations", n))
			}
			if r := rulesOf(netName); len(r) > 0 {
				// A kill -9 inside CNI ADD, after the firewall plugin ran and
				// before libcni cached the result, used to leave its
				// CNI-FORWARD rules (DEL had no prevResult naming the IPs);
				// DEL now rebuilds it from the pod netns (docs/robustness.md).
				// CHAOS_CNI_STRICT=0 only logs them.
				msg := fmt.Sprintf("%d iptables rules: %.300s", len(r), strings.Join(r, " | "))
				if os.Getenv("CHAOS_CNI_STRICT") != "0" {
					leaks = append(leaks, msg)
				} else {
					t.Logf("not failing (CHAOS_CNI_STRICT=0): %s", msg)
				}
			}
			return strings.Join(leaks, "; ")
		},
	})
}

// rulesOf lists the iptables rules a network's plugins made: bridge's
// masquerade jumps name the network; firewall's rules carry the pod IPs.
func rulesOf(netName string) []string {
	var out []string
	tag := `name: \"` + netName + `\"`
	for _, table := range []string{"nat", "filter"} {
		b, _ := exec.Command("iptables-save", "-t", table).Output()
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "-A ") && (strings.Contains(line, tag) || strings.Contains(line, cniSubnetPrefix)) &&
				!strings.Contains(line, cniSubnet) {
				out = append(out, table+": "+line)
			}
		}
	}
	return out
}

// cleanupNetwork removes the bridge and whatever rules a failed run left.
func cleanupNetwork(bridge, netName string) {
	_ = exec.Command("ip", "link", "del", bridge).Run()
	for _, r := range rulesOf(netName) {
		table, line, _ := strings.Cut(r, ": ")
		f := strings.Fields(line)
		if i := slices.Index(f, "-j"); i > 0 && i+1 < len(f) && strings.HasPrefix(f[i+1], "CNI-") && f[i+1] != "CNI-FORWARD" {
			_ = exec.Command("sh", "-c", "iptables -w -t "+table+" "+strings.Replace(line, "-A ", "-D ", 1)).Run()
			_ = exec.Command("iptables", "-w", "-t", table, "-F", f[i+1]).Run()
			_ = exec.Command("iptables", "-w", "-t", table, "-X", f[i+1]).Run()
			continue
		}
		_ = exec.Command("sh", "-c", "iptables -w -t "+table+" "+strings.Replace(line, "-A ", "-D ", 1)).Run()
	}
}
