package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// CNIPluginDir is where Debian's containernetworking-plugins installs.
const CNIPluginDir = "/usr/lib/cni"

// subnetLockDir holds one lock file per 10.N.0.0/16 a test network holds,
// so that test binaries running at once (go test runs packages in
// parallel) never pick the same subnet.
const subnetLockDir = "/run/dockerlet-test-subnets"

// Test networks take 10.N.0.0/16 with N in [subnetFirst, subnetLast]: below
// the conformance script's 89–99, away from the node suite's and the
// benchmark's picks (they run alone).
const subnetFirst, subnetLast = 66, 88

// RequireCNI skips the test, or fails it under DOCKERLET_E2E=1, unless it
// runs as root with ip and iptables and the named CNI plugins.
func RequireCNI(tb testing.TB, plugins ...string) {
	tb.Helper()
	unavailable := func(format string, args ...any) {
		tb.Helper()
		if os.Getenv(E2EEnv) == "1" {
			tb.Fatalf(format, args...)
		}
		tb.Skipf(format, args...)
	}
	if os.Geteuid() != 0 {
		unavailable("CNI test needs root (bridges, veths, iptables)")
	}
	for _, tool := range []string{"ip", "iptables", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable("CNI test needs %s: %v", tool, err)
		}
	}
	for _, p := range plugins {
		if _, err := os.Stat(filepath.Join(CNIPluginDir, p)); err != nil {
			unavailable("CNI plugin missing (apt-get install containernetworking-plugins): %v", err)
		}
	}
}

// CNINetOptions shape a test's bridge network.
type CNINetOptions struct {
	Prefix       string   // names the bridge (Prefix + 6 hex digits, ≤ 15 bytes) and the network
	IPMasq       bool     // masquerade traffic leaving the subnet
	Hairpin      bool     // pods reach themselves through a host port
	DefaultRoute bool     // a default route via the bridge in the pod
	Chain        []string // plugins after the bridge: "portmap" (with its capability), "firewall"
}

// CNINet is a bridge network of the test's own: a reserved subnet, its
// conflist, host-local IPAM, libcni cache and netns pin dirs in a temp
// dir. The bridge is deleted when the test ends.
type CNINet struct {
	Name, Bridge string
	Subnet       netip.Prefix
	ConfDir      string
	IPAMDir      string // host-local's dataDir; reservations in IPAMDir/Name
	CacheDir     string
	NetNSDir     string
}

// NewCNINet reserves a subnet and writes the network's conflist.
func NewCNINet(tb testing.TB, opts CNINetOptions) *CNINet {
	tb.Helper()
	var b [3]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	dir := tb.TempDir()
	n := &CNINet{
		Name: opts.Prefix + "-" + suffix, Bridge: opts.Prefix + suffix,
		Subnet:  ReserveSubnet(tb),
		ConfDir: filepath.Join(dir, "conf"), IPAMDir: filepath.Join(dir, "ipam"),
		CacheDir: filepath.Join(dir, "cache"), NetNSDir: filepath.Join(dir, "netns"),
	}
	if len(n.Bridge) > 15 {
		tb.Fatalf("bridge name %q is longer than 15 bytes", n.Bridge)
	}
	ipam := map[string]any{"type": "host-local", "dataDir": n.IPAMDir, "ranges": [][]map[string]string{{{"subnet": n.Subnet.String()}}}}
	if opts.DefaultRoute {
		ipam["routes"] = []map[string]string{{"dst": "0.0.0.0/0"}}
	}
	plugins := []map[string]any{{
		"type": "bridge", "bridge": n.Bridge, "isGateway": true, "ipMasq": opts.IPMasq, "hairpinMode": opts.Hairpin, "ipam": ipam,
	}}
	for _, p := range opts.Chain {
		conf := map[string]any{"type": p}
		if p == "portmap" {
			conf["capabilities"] = map[string]bool{"portMappings": true}
		}
		plugins = append(plugins, conf)
	}
	conf, err := json.MarshalIndent(map[string]any{"cniVersion": "1.0.0", "name": n.Name, "plugins": plugins}, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(n.ConfDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.ConfDir, "10-"+opts.Prefix+".conflist"), conf, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", n.Bridge).Run()
		n.removeRules()
		// A pin a failed run left would keep its temp dir from going.
		pins, _ := filepath.Glob(filepath.Join(n.NetNSDir, "*"))
		for _, p := range pins {
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
		}
	})
	return n
}

// ServeArgs are `dockerlet serve`'s flags for the network.
func (n *CNINet) ServeArgs() []string {
	return []string{"--network-plugin", "cni", "--cni-bin-dir", CNIPluginDir, "--cni-conf-dir", n.ConfDir,
		"--cni-cache-dir", n.CacheDir, "--cni-netns-dir", n.NetNSDir}
}

// Reservations lists the addresses host-local holds for the network.
func (n *CNINet) Reservations(tb testing.TB) []string {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(n.IPAMDir, n.Name))
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
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

// BridgePorts lists the interfaces (pod veths) on the bridge.
func (n *CNINet) BridgePorts(tb testing.TB) []string {
	tb.Helper()
	out, err := exec.Command("ip", "-o", "link", "show", "master", n.Bridge).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "does not exist") {
			return nil
		}
		tb.Fatalf("ip link show master %s: %v: %s", n.Bridge, err, out)
	}
	var ports []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			ports = append(ports, strings.TrimSuffix(f[1], ":"))
		}
	}
	return ports
}

// ReserveSubnet returns a 10.N.0.0/16 that no route on this host uses and
// no other test holds, held until the test ends (or its process dies).
func ReserveSubnet(tb testing.TB) netip.Prefix {
	tb.Helper()
	if err := os.MkdirAll(subnetLockDir, 0o755); err != nil {
		tb.Fatalf("subnet locks: %v", err)
	}
	routes, err := exec.Command("ip", "-4", "route").Output()
	if err != nil {
		tb.Fatalf("ip route: %v", err)
	}
	for n := subnetFirst; n <= subnetLast; n++ {
		if strings.Contains(string(routes), fmt.Sprintf("10.%d.", n)) {
			continue
		}
		f, err := os.OpenFile(filepath.Join(subnetLockDir, fmt.Sprintf("10.%d", n)), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			tb.Fatalf("subnet lock: %v", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue // another test's
		}
		tb.Cleanup(func() { f.Close() })
		return netip.MustParsePrefix(fmt.Sprintf("10.%d.0.0/16", n))
	}
	tb.Fatalf("no free 10.N.0.0/16 for N in %d–%d:\n%s", subnetFirst, subnetLast, routes)
	return netip.Prefix{}
}

// Rules lists the iptables rules the network's plugins made, as
// "table: rule": jumps to per-pod chains carry the network's name in a
// comment (bridge's masquerade, portmap's DNAT); the firewall plugin's
// rules carry pod addresses. The plugins' shared chains (CNI-HOSTPORT-*,
// CNI-FORWARD, CNI-ADMIN) are not the network's: other networks use them.
func (n *CNINet) Rules() []string {
	var out []string
	tag := `name: \"` + n.Name + `\"`
	a := n.Subnet.Addr().As4()
	podAddr := fmt.Sprintf(" %d.%d.", a[0], a[1])
	for _, table := range []string{"nat", "filter"} {
		b, _ := exec.Command("iptables-save", "-t", table).Output()
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "-A ") && (strings.Contains(line, tag) || strings.Contains(line, podAddr)) &&
				!strings.Contains(line, n.Subnet.String()) {
				out = append(out, table+": "+line)
			}
		}
	}
	return out
}

// removeRules deletes what Rules lists, and the per-pod chains it jumps to.
func (n *CNINet) removeRules() {
	for _, r := range n.Rules() {
		table, line, _ := strings.Cut(r, ": ")
		del := append([]string{"-w", "-t", table}, shellFields(strings.Replace(line, "-A ", "-D ", 1))...)
		_ = exec.Command("iptables", del...).Run()
		f := strings.Fields(line)
		if i := slices.Index(f, "-j"); i > 0 && i+1 < len(f) && strings.HasPrefix(f[i+1], "CNI-") &&
			f[i+1] != "CNI-FORWARD" && !strings.HasPrefix(f[i+1], "CNI-HOSTPORT-") {
			_ = exec.Command("iptables", "-w", "-t", table, "-F", f[i+1]).Run()
			_ = exec.Command("iptables", "-w", "-t", table, "-X", f[i+1]).Run()
		}
	}
}

// shellFields splits an iptables-save line as a shell would: comments are
// double-quoted, with \" inside.
func shellFields(line string) []string {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			have = true
		case c == '"':
			inQuote, have = !inQuote, true
		case c == ' ' && !inQuote:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}
