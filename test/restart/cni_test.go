package restart

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
)

const (
	cniPluginDir = "/usr/lib/cni" // Debian's containernetworking-plugins
	cniSubnet    = "10.87.0.0/16"
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
	for _, plugin := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(cniPluginDir, plugin)); err != nil {
			if os.Getenv("DOCKERLET_E2E") == "1" {
				t.Fatalf("CNI plugin missing (containernetworking-plugins): %v", err)
			}
			t.Skipf("CNI plugin missing (containernetworking-plugins): %v", err)
		}
	}
	if out, _ := exec.Command("ip", "-4", "addr").Output(); strings.Contains(string(out), "10.87.") {
		t.Skipf("subnet %s is in use on this host", cniSubnet)
	}
	reg := testutil.StartRegistry(t)
	busybox := reg.PushBusybox(t, "dlcf/busybox:cni", testutil.ImageOptions{Marker: "dlcf-cni"})
	pause := reg.PushBusybox(t, "dlcf/pause:cni", testutil.ImageOptions{
		Marker: "dlcf-cni-pause", Cmd: []string{"sh", "-c", loopCmd},
	})
	for _, live := range []bool{false, true} {
		t.Run(fmt.Sprintf("live-restore=%v", live), func(t *testing.T) {
			var b [3]byte
			_, _ = rand.Read(b[:])
			bridge, netName := "dlcf"+hex.EncodeToString(b[:]), "dlcf-restart-"+hex.EncodeToString(b[:])
			tmp := t.TempDir()
			ipamDir, confDir := filepath.Join(tmp, "ipam"), filepath.Join(tmp, "conf")
			if err := os.MkdirAll(confDir, 0o755); err != nil {
				t.Fatal(err)
			}
			conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}}
  ]
}`, netName, bridge, ipamDir, cniSubnet)
			if err := os.WriteFile(filepath.Join(confDir, "10-dlcf.conflist"), []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })
			runListExact(t, live, busybox, pause, netMode{
				serveArgs: []string{"--network-plugin", "cni", "--cni-bin-dir", cniPluginDir,
					"--cni-conf-dir", confDir, "--cni-cache-dir", filepath.Join(tmp, "cache")},
				check: func(ctx context.Context, e *env) { checkCNI(ctx, e, bridge, filepath.Join(ipamDir, netName)) },
			})
		})
	}
}

// checkCNI: every READY sandbox has an address in the subnet; after every
// pod is stopped, no address is reserved and no veth is on the bridge.
func checkCNI(ctx context.Context, e *env, bridge, ipamNet string) {
	t := e.t
	subnet := netip.MustParsePrefix(cniSubnet)
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
		if err != nil || !subnet.Contains(ip) {
			t.Errorf("READY sandbox %s reports IP %q, want one in %s", sb.Id[:12], st.Status.GetNetwork().GetIp(), cniSubnet)
		}
	}
	for _, sb := range list.Items {
		e.retry(ctx, "StopPodSandbox", func(cctx context.Context) error {
			_, err := e.rt.StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id})
			return err
		})
	}
	entries, _ := os.ReadDir(ipamNet)
	var reserved []string
	for _, en := range entries {
		if !strings.HasPrefix(en.Name(), "last_reserved_ip") && en.Name() != "lock" {
			reserved = append(reserved, en.Name())
		}
	}
	if len(reserved) > 0 {
		t.Errorf("after stopping every pod, %d addresses are still reserved: %v", len(reserved), reserved)
	}
	if out, _ := exec.Command("ip", "-o", "link", "show", "master", bridge).Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("after stopping every pod, veths are left on %s: %s", bridge, out)
	}
	t.Logf("CNI: %d READY sandboxes with addresses in %s; all %d pods stopped, no address or veth left", ready, cniSubnet, len(list.Items))
}
