package chaos

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dockerlet/dockerlet/internal/testutil"
)

// TestKill9ChaosCNI is the chaos run with CNI pod networking (bridge with
// masquerading, host-local IPAM, firewall): after it, no veth on the
// bridge, no IPAM reservation and no iptables rule of the network is left.
func TestKill9ChaosCNI(t *testing.T) {
	testutil.RequireDocker(t)
	testutil.RequireCNI(t, "bridge", "host-local", "loopback", "firewall")
	n := testutil.NewCNINet(t, testutil.CNINetOptions{Prefix: "dltrob", IPMasq: true, DefaultRoute: true, Chain: []string{"firewall"}})
	runChaos(t, chaosMode{
		name:      "cni",
		serveArgs: n.ServeArgs(),
		leaks: func(t *testing.T) string {
			var leaks []string
			if ports := n.BridgePorts(t); len(ports) > 0 {
				leaks = append(leaks, fmt.Sprintf("%d veths on %s", len(ports), n.Bridge))
			}
			if ips := n.Reservations(t); len(ips) > 0 {
				leaks = append(leaks, fmt.Sprintf("%d IPAM reservations", len(ips)))
			}
			if r := n.Rules(); len(r) > 0 {
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
