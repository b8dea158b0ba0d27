package cri

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestCgroupParentFor(t *testing.T) {
	for _, tc := range []struct {
		driver, parent, want string
		precondition         bool
	}{
		{"cgroupfs", "", "", false},
		{"systemd", "", "", false},
		{"cgroupfs", "/kubepods/burstable/pod1234", "/kubepods/burstable/pod1234", false},
		{"cgroupfs", "/dlnode/kubepods/pod1", "/dlnode/kubepods/pod1", false},
		// What a systemd kubelet sends, and critest's pod parent.
		{"systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice", "kubepods-burstable-pod12_34.slice", false},
		{"systemd", "/kubepods.slice/kubepods-pod1.slice", "kubepods-pod1.slice", false},
		{"systemd", "/test.slice", "test.slice", false},
		{"systemd", "kubepods-besteffort-pod1.slice", "kubepods-besteffort-pod1.slice", false},
		// The two mismatches.
		{"systemd", "/kubepods/burstable/pod1234", "", true},
		{"cgroupfs", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice", "", true},
	} {
		got, err := cgroupParentFor(tc.driver, tc.parent)
		if tc.precondition {
			if code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "cgroupDriver") {
				t.Errorf("%s %q: %v (%v), want FailedPrecondition naming the kubelet's cgroupDriver", tc.driver, tc.parent, err, code(err))
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %q = %q, %v; want %q", tc.driver, tc.parent, got, err, tc.want)
		}
	}
}

// A pod on a Docker with the systemd driver gets the slice name as its
// sandbox's and containers' parent; RuntimeConfig says systemd.
func TestCgroupParentSystemdDriver(t *testing.T) {
	h := newHarness(t)
	info, _ := h.fake.Info(h.ctx)
	info.CgroupDriver = "systemd"
	h.fake.SetInfo(*info)

	rc, err := h.svc.RuntimeConfig(h.ctx, &runtimeapi.RuntimeConfigRequest{})
	if err != nil || rc.GetLinux().GetCgroupDriver() != runtimeapi.CgroupDriver_SYSTEMD {
		t.Fatalf("RuntimeConfig = %v, %v; want SYSTEMD", rc, err)
	}
	cfg := sandboxConfig("sd")
	cfg.Linux.CgroupParent = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podsd_uid.slice"
	resp, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	const want = "kubepods-besteffort-podsd_uid.slice"
	sb, _ := h.fake.InspectContainer(h.ctx, resp.PodSandboxId)
	if sb.HostConfig.CgroupParent != want {
		t.Errorf("sandbox cgroup parent %q, want %q", sb.HostConfig.CgroupParent, want)
	}
	cr, err := h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: resp.PodSandboxId, Config: containerConfig("c"), SandboxConfig: cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := h.fake.InspectContainer(h.ctx, cr.ContainerId)
	if c.HostConfig.CgroupParent != want {
		t.Errorf("container cgroup parent %q, want %q", c.HostConfig.CgroupParent, want)
	}

	// A kubelet left on cgroupfs: refused before anything is made.
	bad := sandboxConfig("fs")
	bad.Linux.CgroupParent = "/kubepods/besteffort/podfs-uid"
	before := len(h.fake.Calls())
	_, err = h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: bad})
	if code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "systemd") {
		t.Fatalf("cgroupfs parent on a systemd Docker: %v (%v), want FailedPrecondition", err, code(err))
	}
	for _, op := range h.fake.Calls()[before:] {
		if op == "CreateContainer" {
			t.Error("a container was created for the refused pod")
		}
	}
}

// On the cgroupfs driver (this machine's) the kubelet's path goes to
// Docker unchanged, and a systemd kubelet's slice path is refused.
func TestCgroupParentCgroupfsDriver(t *testing.T) {
	h := newHarness(t)
	rc, err := h.svc.RuntimeConfig(h.ctx, &runtimeapi.RuntimeConfigRequest{})
	if err != nil || rc.GetLinux().GetCgroupDriver() != runtimeapi.CgroupDriver_CGROUPFS {
		t.Fatalf("RuntimeConfig = %v, %v; want CGROUPFS", rc, err)
	}
	cfg := sandboxConfig("fs")
	cfg.Linux.CgroupParent = "/kubepods/burstable/podfs-uid"
	resp, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := h.fake.InspectContainer(h.ctx, resp.PodSandboxId)
	if sb.HostConfig.CgroupParent != cfg.Linux.CgroupParent {
		t.Errorf("sandbox cgroup parent %q, want %q", sb.HostConfig.CgroupParent, cfg.Linux.CgroupParent)
	}
	bad := sandboxConfig("sd")
	bad.Linux.CgroupParent = "/kubepods.slice/kubepods-podsd_uid.slice"
	if _, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: bad}); code(err) != codes.FailedPrecondition {
		t.Fatalf("slice parent on a cgroupfs Docker: %v (%v), want FailedPrecondition", err, code(err))
	}
}
