package privdockerd

import (
	"fmt"
	"os/exec"
	"strings"
)

// The daemon runs with --iptables=false: it must not rewrite the host's
// firewall. But where br_netfilter is loaded (the machine's own dockerd, a
// kubelet or a CNI plugin loads it), frames between two containers on one
// bridge traverse the host's FORWARD chain, whose policy Docker sets to
// DROP; pods of a private daemon could then not reach each other, as they
// can on any Docker bridge. So the daemon's bridge gets one rule of its own
// that accepts forwarding within it, and the clean-up removes it.

// forwardRule is the rule's specification after the chain name.
func forwardRule(bridge string) []string {
	return []string{"-i", bridge, "-o", bridge, "-m", "comment", "--comment", "dockerlet test daemon " + bridge, "-j", "ACCEPT"}
}

// allowForward inserts the rule unless it is there; without iptables there
// is no FORWARD chain to pass either.
func allowForward(bridge string) error {
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil
	}
	rule := forwardRule(bridge)
	if exec.Command("iptables", append([]string{"-C", "FORWARD"}, rule...)...).Run() == nil {
		return nil
	}
	if out, err := exec.Command("iptables", append([]string{"-I", "FORWARD"}, rule...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables -I FORWARD %s: %v: %s", strings.Join(rule, " "), err, out)
	}
	return nil
}

// removeForward deletes every copy of the rule.
func removeForward(bridge string) {
	if _, err := exec.LookPath("iptables"); err != nil {
		return
	}
	rule := forwardRule(bridge)
	for range 10 {
		if exec.Command("iptables", append([]string{"-D", "FORWARD"}, rule...)...).Run() != nil {
			return
		}
	}
}

// HasForward reports whether the bridge's forwarding rule is in place.
func HasForward(bridge string) bool {
	return exec.Command("iptables", append([]string{"-C", "FORWARD"}, forwardRule(bridge)...)...).Run() == nil
}
