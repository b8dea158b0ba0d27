package restart

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
)

// TestListExactAfterDockerdRestartCNI is TestListExactAfterDockerdRestart
// with CNI pod networking (bridge + host-local on a bridge and subnet of
// its own, no iptables): the next List is exact, every READY sandbox
// reports an address of the network, and stopping every pod afterwards
// releases every address and veth — also for pods whose pause container
// the restart stopped (their netns is gone; the DEL works from the
// checkpoint).
func TestListExactAfterDockerdRestartCNI(t *testing.T) {
	privdockerd.Require(t)
	testutil.RequireCNI(t, "bridge", "host-local", "loopback")
	reg := testutil.StartRegistry(t)
	busybox := reg.PushBusybox(t, "dlcf/busybox:cni", testutil.ImageOptions{Marker: "dlcf-cni"})
	pause := reg.PushBusybox(t, "dlcf/pause:cni", testutil.ImageOptions{
		Marker: "dlcf-cni-pause", Cmd: []string{"sh", "-c", loopCmd},
	})
	for _, live := range []bool{false, true} {
		t.Run(fmt.Sprintf("live-restore=%v", live), func(t *testing.T) {
			n := testutil.NewCNINet(t, testutil.CNINetOptions{Prefix: "dlcf", DefaultRoute: true})
			runListExact(t, live, busybox, pause, netMode{
				serveArgs: n.ServeArgs(),
				check:     func(ctx context.Context, e *env) { checkCNI(ctx, e, n) },
			})
		})
	}
}

// checkCNI: every READY sandbox has an address in the subnet; after every
// pod is stopped, no address is reserved and no veth is on the bridge.
func checkCNI(ctx context.Context, e *env, n *testutil.CNINet) {
	t := e.t
	list, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, sb := range list.Items {
		st, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.Id})
		if err != nil {
			t.Fatal(err)
		}
		if st.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		ready++
		ip, err := netip.ParseAddr(st.Status.GetNetwork().GetIp())
		if err != nil || !n.Subnet.Contains(ip) {
			t.Errorf("READY sandbox %s reports IP %q, want one in %s", sb.Id[:12], st.Status.GetNetwork().GetIp(), n.Subnet)
		}
	}
	for _, sb := range list.Items {
		e.retry(ctx, "StopPodSandbox", func(cctx context.Context) error {
			_, err := e.rt.StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id})
			return err
		})
	}
	if reserved := n.Reservations(t); len(reserved) > 0 {
		t.Errorf("after stopping every pod, %d addresses are still reserved: %v", len(reserved), reserved)
	}
	if ports := n.BridgePorts(t); len(ports) > 0 {
		t.Errorf("after stopping every pod, veths are left on %s: %v", n.Bridge, ports)
	}
	t.Logf("CNI: %d READY sandboxes with addresses in %s; all %d pods stopped, no address or veth left", ready, n.Subnet, len(list.Items))
}
