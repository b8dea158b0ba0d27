package cri

import (
	"maps"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestSandboxSpecNamespacesDNSAndSysctls(t *testing.T) {
	h := newHarness(t)
	node := runtimeapi.NamespaceMode_NODE
	for _, tc := range []struct {
		name               string
		ns                 *runtimeapi.NamespaceOption
		net, ipc, pid, uts string
		hostname           string
	}{
		{"pod", nil, "bridge", "shareable", "", "", "pod"},
		{"hostnet", &runtimeapi.NamespaceOption{Network: node}, "host", "shareable", "", "host", ""},
		{"hostipc", &runtimeapi.NamespaceOption{Ipc: node}, "bridge", "host", "", "", "hostipc"},
		{"hostpid", &runtimeapi.NamespaceOption{Pid: node}, "bridge", "shareable", "host", "", "hostpid"},
	} {
		cfg := sandboxConfig(tc.name)
		cfg.Hostname = tc.name
		cfg.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"svc.local"}, Options: []string{"ndots:5"}}
		cfg.Linux = &runtimeapi.LinuxPodSandboxConfig{
			Sysctls:         map[string]string{"kernel.shm_rmid_forced": "1"},
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: tc.ns},
		}
		resp, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c, _ := h.fake.InspectContainer(h.ctx, resp.PodSandboxId)
		hc := c.HostConfig
		if string(hc.NetworkMode) != tc.net || string(hc.IpcMode) != tc.ipc || string(hc.PidMode) != tc.pid || string(hc.UTSMode) != tc.uts {
			t.Errorf("%s: net=%s ipc=%s pid=%s uts=%s", tc.name, hc.NetworkMode, hc.IpcMode, hc.PidMode, hc.UTSMode)
		}
		if c.Config.Hostname != tc.hostname && tc.hostname != "" {
			t.Errorf("%s: hostname %q", tc.name, c.Config.Hostname)
		}
		if len(hc.DNS) != 1 || hc.DNS[0].String() != "10.0.0.10" || !slices.Equal(hc.DNSSearch, []string{"svc.local"}) || !slices.Equal(hc.DNSOptions, []string{"ndots:5"}) {
			t.Errorf("%s: dns %v %v %v", tc.name, hc.DNS, hc.DNSSearch, hc.DNSOptions)
		}
		if !maps.Equal(hc.Sysctls, cfg.Linux.Sysctls) {
			t.Errorf("%s: sysctls %v", tc.name, hc.Sysctls)
		}
		st, err := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId})
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Status.Linux.Namespaces.Options; got.Network != tc.ns.GetNetwork() || got.Ipc != tc.ns.GetIpc() || got.Pid != tc.ns.GetPid() {
			t.Errorf("%s: namespace options in status %v", tc.name, got)
		}
	}
	bad := sandboxConfig("baddns")
	bad.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"not-an-ip"}}
	if _, err := h.rt().RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: bad}); code(err) != codes.InvalidArgument {
		t.Errorf("bad DNS server: %v, want InvalidArgument", err)
	}
}
