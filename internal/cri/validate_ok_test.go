package cri

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestValidRequestsPass guards the limits against rejecting what a kubelet
// and critest send.
func TestValidRequestsPass(t *testing.T) {
	h := newHarness(t)
	rt, _ := h.grpcClients()
	cfg := sandboxConfig("ok")
	cfg.Labels["io.kubernetes.pod.name"] = strings.Repeat("p", 253)
	cfg.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = strings.Repeat("{}", 100<<10)
	cfg.LogDirectory = t.TempDir()
	cfg.Linux.CgroupParent = "/kubepods/burstable/pod1234"
	cfg.Linux.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel/shm_rmid_forced": "1", "fs.mqueue.msg_max": "10"}
	sb, err := rt.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	cc := containerConfig("ok")
	cc.LogPath = "ok/0.log"
	cc.Envs = []*runtimeapi.KeyValue{{Key: "PASSWORD", Value: []byte("a=b\tc")}}
	cc.Linux = &runtimeapi.LinuxContainerConfig{
		Resources: &runtimeapi.LinuxContainerResources{CpuShares: 2, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 64 << 20, OomScoreAdj: 1000},
		SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			MaskedPaths: []string{"/proc/kcore"}, ReadonlyPaths: []string{"/proc/sys"},
			Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN", "CAP_SYS_TIME"}, DropCapabilities: []string{"ALL"}},
			RunAsUser:    &runtimeapi.Int64Value{Value: 1000},
		},
	}
	ctr, err := rt.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, Config: cc, SandboxConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.StopContainer(h.ctx, &runtimeapi.StopContainerRequest{ContainerId: ctr.ContainerId, Timeout: 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.PodSandboxId[:12]}); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.UpdateRuntimeConfig(h.ctx, &runtimeapi.UpdateRuntimeConfigRequest{RuntimeConfig: &runtimeapi.RuntimeConfig{
		NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: "10.88.0.0/16,fd00::/64"}}}); err != nil {
		t.Fatal(err)
	}
}

// TestDirectCallsAreValidated: validateRequest holds for callers that skip
// gRPC's decoder (invalid UTF-8 and nil entries arrive as Go values).
func TestValidateRequestInProcessValues(t *testing.T) {
	for name, req := range map[string]any{
		"bad UTF-8 label": withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Labels = map[string]string{"k": "\xff"} }),
		"nil env":         withContainer(func(c *runtimeapi.ContainerConfig) { c.Envs = []*runtimeapi.KeyValue{nil} }),
		"nil dns":         &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "\xc3\x28"}},
	} {
		if err := validateRequest(req); code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
}
