package pod

import (
	"fmt"
	"net"
	"os"

	"github.com/containerd/errdefs"
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// redirectTable is play's own nftables table in a pod's network namespace:
// replaced as a whole, it touches no other rule there.
const redirectTable = "dockerlet_services"

// setNetnsRedirects makes the network namespace of process pid hold
// exactly rules (none: play's table is removed). One netlink batch, so
// the change is atomic: a connection sees the old rules or the new ones.
// podIP scopes the output chain: the pod reaching a Service through its
// own address (itself an endpoint) is redirected too, its loopback is not.
//
// The namespace is entered by file descriptor, through nftables' netlink
// socket; no thread of this process changes namespace.
func setNetnsRedirects(pid int, podIP string, rules []Redirect) error {
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return fmt.Errorf("open the pod's network namespace: %w", err)
	}
	defer f.Close()
	// Never the host's own rules: a sandbox that shares the host's
	// namespace has nothing to redirect.
	var own, target unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &own); err != nil {
		return fmt.Errorf("stat own network namespace: %w", err)
	}
	if err := unix.Fstat(int(f.Fd()), &target); err != nil {
		return fmt.Errorf("stat the pod's network namespace: %w", err)
	}
	if own.Ino == target.Ino && own.Dev == target.Dev {
		return fmt.Errorf("process %d is in the host's network namespace: %w", pid, errdefs.ErrFailedPrecondition)
	}
	ip := net.ParseIP(podIP).To4()
	if ip == nil {
		return fmt.Errorf("pod IP %q is not IPv4: %w", podIP, errdefs.ErrNotImplemented)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(f.Fd())))
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: redirectTable, Family: nftables.TableFamilyIPv4}
	// Add then delete: a delete alone fails when the table is absent.
	c.AddTable(t)
	c.DelTable(t)
	if len(rules) > 0 {
		c.AddTable(t)
		pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
		out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest})
		for _, r := range rules {
			c.AddRule(&nftables.Rule{Table: t, Chain: pre, Exprs: redirectExprs(r)})
			toSelf := append([]expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ip},
			}, redirectExprs(r)...)
			c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: toSelf})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables in the pod's network namespace: %w", err)
	}
	return nil
}

// redirectExprs: meta l4proto <proto> th dport <port> redirect to :<target>.
func redirectExprs(r Redirect) []expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	switch r.Protocol {
	case corev1.ProtocolUDP:
		proto = unix.IPPROTO_UDP
	case corev1.ProtocolSCTP:
		proto = unix.IPPROTO_SCTP
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(r.Port))},
		&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(r.TargetPort))},
		&expr.Redir{RegisterProtoMin: 1, RegisterProtoMax: 1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
	}
}
