package network_test

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// cleanupHostState removes what a test network may have left on the host —
// its bridge, rules tagged with its name or in its subnet — and then the
// shared chains the CNI plugins create once and never remove, but only if
// nobody else uses them any more (another runtime may have pods in them).
func cleanupHostState(t *testing.T, bridge, netName string) {
	t.Helper()
	if err := exec.Command("ip", "link", "del", bridge).Run(); err != nil {
		t.Logf("cleanup: ip link del %s: %v (already gone?)", bridge, err)
	}
	// Per-pod chains a failed test left: jumps whose comment names the
	// network (bridge ipMasq, portmap DNAT).
	tag := `name: \"` + netName + `\"`
	for _, table := range []string{"nat", "filter"} {
		out, _ := exec.Command("iptables-save", "-t", table).Output()
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "-A" || !strings.Contains(line, tag) {
				continue
			}
			if i := slices.Index(f, "-j"); i > 0 && i+1 < len(f) && strings.HasPrefix(f[i+1], "CNI-") &&
				!strings.HasPrefix(f[i+1], "CNI-HOSTPORT-") {
				deleteJumps(table, f[1], f[i+1])
				ipt(table, "-F", f[i+1])
				ipt(table, "-X", f[i+1])
			}
		}
		// The firewall plugin's per-pod rules carry the pod IP only.
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "-A CNI-FORWARD ") && strings.Contains(line, cniSubnetPrefix) {
				_ = exec.Command("sh", "-c", "iptables -w -t "+table+" "+strings.Replace(line, "-A ", "-D ", 1)).Run()
			}
		}
	}
	// nat: portmap's shared chains.
	if chainRules("nat", "CNI-HOSTPORT-DNAT") == 0 {
		ipt("nat", "-D", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT")
		ipt("nat", "-D", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT")
		ipt("nat", "-D", "POSTROUTING", "-m", "comment", "--comment", "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ")
		for _, c := range []string{"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"} {
			ipt("nat", "-F", c)
			ipt("nat", "-X", c)
		}
	}
	// filter: the firewall plugin's chains; only the admin jump left means unused.
	if chainRules("filter", "CNI-FORWARD") <= 1 && chainRules("filter", "CNI-ADMIN") == 0 {
		ipt("filter", "-D", "FORWARD", "-m", "comment", "--comment", "CNI firewall plugin rules", "-j", "CNI-FORWARD")
		for _, c := range []string{"CNI-FORWARD", "CNI-ADMIN"} {
			ipt("filter", "-F", c)
			ipt("filter", "-X", c)
		}
	}
}

// deleteJumps deletes the rules of parent that jump to target, by number
// (highest first, so the numbers stay valid).
func deleteJumps(table, parent, target string) {
	out, err := exec.Command("iptables", "-w", "-t", table, "-L", parent, "-n", "--line-numbers").Output()
	if err != nil {
		return
	}
	var nums []int
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[1] == target {
			if n, err := strconv.Atoi(f[0]); err == nil {
				nums = append(nums, n)
			}
		}
	}
	slices.Sort(nums)
	for i := len(nums) - 1; i >= 0; i-- {
		ipt(table, "-D", parent, strconv.Itoa(nums[i]))
	}
}

// chainRules counts a chain's rules; -1 if it does not exist.
func chainRules(table, chain string) int {
	out, err := exec.Command("iptables", "-w", "-t", table, "-S", chain).Output()
	if err != nil {
		return -1
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "-A ") {
			n++
		}
	}
	return n
}

func ipt(table string, args ...string) {
	_ = exec.Command("iptables", append([]string{"-w", "-t", table}, args...)...).Run()
}
