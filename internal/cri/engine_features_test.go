package cri

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/system"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// runcFeatures is a trimmed `runc features` document as Docker 25+ puts it
// in `docker info` (Runtimes[].status).
const runcFeatures = `{"ociVersionMin":"1.0.0","ociVersionMax":"1.2.0","mountOptions":["bind","rbind","ro","rro","rprivate"]}`

// engineAt makes the harness's engine speak api with the runtimes of a
// current Docker: runc (rro in its features), "dlrunc" (an added runtime
// without a features document) and CDI enabled when cdi.
func (h *harness) engineAt(api string, cdi bool) {
	h.t.Helper()
	h.fake.SetVersion(engine.Version{Version: "29.8.0", APIVersion: api, ServerAPI: api, Os: "linux", Arch: "amd64"})
	info := system.Info{
		ID: "fake", Driver: "overlay2", CgroupDriver: "cgroupfs", DockerRootDir: "/var/lib/docker",
		KernelVersion: "6.1.0-18-amd64", DefaultRuntime: "runc",
		Runtimes: map[string]system.RuntimeWithStatus{
			"runc":   {Runtime: system.Runtime{Path: "runc"}, Status: map[string]string{ociFeaturesKey: runcFeatures}},
			"dlrunc": {Runtime: system.Runtime{Path: "/usr/sbin/runc"}},
		},
	}
	if cdi {
		info.CDISpecDirs = []string{"/etc/cdi", "/var/run/cdi"}
	}
	h.fake.SetInfo(info)
	h.svc = h.restart() // facts are read once per Service
}

func (h *harness) createWith(sb string, edit func(*runtimeapi.ContainerConfig)) (string, error) {
	cfg := containerConfig("feat")
	edit(cfg)
	resp, err := h.rt().CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg, SandboxConfig: sandboxConfig("x")})
	return resp.GetContainerId(), err
}

func (h *harness) hostConfig(id string) *container.HostConfig {
	h.t.Helper()
	in, err := h.fake.InspectContainer(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return in.HostConfig
}

// Status lists Docker's runtimes as handlers; recursive read-only mounts
// are claimed only where the API has the bind option and the runtime's
// features list rro — never on API 1.41.
func TestStatusRuntimeHandlersPerEngine(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		api  string
		want map[string]bool // handler → recursive read-only
	}{
		{"1.41", map[string]bool{"": false, "dlrunc": false, "runc": false}},
		{"1.56", map[string]bool{"": true, "dlrunc": false, "runc": true}},
	} {
		h.engineAt(tc.api, false)
		resp, err := h.svc.Status(h.ctx, &runtimeapi.StatusRequest{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, rh := range resp.RuntimeHandlers {
			got[rh.Name] = rh.Features.RecursiveReadOnlyMounts
			if rh.Features.UserNamespaces {
				t.Errorf("API %s: handler %q claims user namespaces", tc.api, rh.Name)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("API %s: handlers %v, want %v", tc.api, got, tc.want)
		}
		for n, rro := range tc.want {
			if g, ok := got[n]; !ok || g != rro {
				t.Errorf("API %s: handler %q rro=%v (listed %v), want %v", tc.api, n, g, ok, rro)
			}
		}
	}
}

// A pod's runtime handler is the Docker runtime of its sandbox and its
// containers; one Docker does not have is NotFound, naming those it has.
func TestRuntimeHandlerUsedOrRefused(t *testing.T) {
	h := newHarness(t)
	h.engineAt("1.56", false)
	resp, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("rh"), RuntimeHandler: "dlrunc"})
	if err != nil {
		t.Fatal(err)
	}
	if rt := h.hostConfig(resp.PodSandboxId).Runtime; rt != "dlrunc" {
		t.Errorf("sandbox runtime %q, want dlrunc", rt)
	}
	id := h.createContainer(resp.PodSandboxId, "c")
	if rt := h.hostConfig(id).Runtime; rt != "dlrunc" {
		t.Errorf("container runtime %q, want dlrunc", rt)
	}
	_, err = h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("rh2"), RuntimeHandler: "kata"})
	if code(err) != codes.NotFound || !strings.Contains(err.Error(), "dlrunc, runc") {
		t.Errorf("unknown handler: %v, want NotFound naming dlrunc, runc", err)
	}
}

// Recursive read-only mounts: Docker's force-recursive bind option from
// API 1.44 (where the runtime can), a clear Unimplemented naming Docker 25
// before; and from 1.44 on a plain read-only mount says non-recursive, as
// the CRI means it (Docker would make it recursive by itself).
func TestRecursiveReadOnlyMounts(t *testing.T) {
	h := newHarness(t)
	rro := func(c *runtimeapi.ContainerConfig) {
		c.Mounts = []*runtimeapi.Mount{
			{HostPath: "/srv/rro", ContainerPath: "/rro", Readonly: true, RecursiveReadOnly: true},
			{HostPath: "/srv/ro", ContainerPath: "/ro", Readonly: true},
			{HostPath: "/srv/rw", ContainerPath: "/rw"},
		}
	}

	h.engineAt("1.41", false)
	sb := h.runSandbox("rro41")
	if _, err := h.createWith(sb, rro); code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "Docker Engine 25.0") {
		t.Errorf("API 1.41: %v, want Unimplemented naming Docker Engine 25.0", err)
	}

	h.engineAt("1.56", false)
	sb = h.runSandbox("rro56")
	id, err := h.createWith(sb, rro)
	if err != nil {
		t.Fatal(err)
	}
	hc := h.hostConfig(id)
	if len(hc.Binds) != 1 || hc.Binds[0] != "/srv/rw:/rw:rprivate" {
		t.Errorf("binds %v, want only the writable mount", hc.Binds)
	}
	want := map[string]mount.BindOptions{
		"/rro": {Propagation: mount.PropagationRPrivate, ReadOnlyForceRecursive: true, CreateMountpoint: true},
		"/ro":  {Propagation: mount.PropagationRPrivate, ReadOnlyNonRecursive: true, CreateMountpoint: true},
	}
	for _, m := range hc.Mounts {
		w, ok := want[m.Target]
		if !ok || m.Type != mount.TypeBind || !m.ReadOnly || m.BindOptions == nil || *m.BindOptions != w {
			t.Errorf("mount %+v (bind options %+v), want read-only bind with %+v", m, m.BindOptions, w)
		}
		delete(want, m.Target)
	}
	if len(want) > 0 {
		t.Errorf("mounts missing: %v", want)
	}
	st, err := h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Status.Mounts {
		if m.RecursiveReadOnly != (m.ContainerPath == "/rro") || m.Readonly != (m.ContainerPath != "/rw") {
			t.Errorf("status mount %s: readonly=%v recursive=%v", m.ContainerPath, m.Readonly, m.RecursiveReadOnly)
		}
	}

	// A runtime without rro in its features: Unimplemented naming it.
	if _, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("rrodl"), RuntimeHandler: "dlrunc"}); err != nil {
		t.Fatal(err)
	}
	sbs, _ := h.svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "rrodl"}}})
	if len(sbs.Items) != 1 {
		t.Fatalf("sandbox rrodl: %v", sbs.Items)
	}
	if _, err := h.createWith(sbs.Items[0].Id, rro); code(err) != codes.Unimplemented || !strings.Contains(err.Error(), `"dlrunc"`) {
		t.Errorf("runtime without rro: %v, want Unimplemented naming dlrunc", err)
	}

	// What the CRI forbids is InvalidArgument on every engine.
	for name, m := range map[string]*runtimeapi.Mount{
		"not readonly": {HostPath: "/srv/x", ContainerPath: "/x", RecursiveReadOnly: true},
		"rslave":       {HostPath: "/srv/x", ContainerPath: "/x", Readonly: true, RecursiveReadOnly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
		"rshared":      {HostPath: "/srv/x", ContainerPath: "/x", Readonly: true, RecursiveReadOnly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
	} {
		if _, err := h.createWith(sb, func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{m} }); code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
}

// Image volumes: Docker's mount of type image (API 1.48) of the resolved
// image id, read-only, with the sub path; ContainerStatus reports the image
// ref. Before API 1.48 a clear Unimplemented naming Docker 28.
func TestImageVolumeMounts(t *testing.T) {
	h := newHarness(t)
	img, err := h.fake.InspectImageByRef(h.ctx, testImage)
	if err != nil {
		t.Fatal(err)
	}
	iv := func(sub string) func(*runtimeapi.ContainerConfig) {
		return func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/iv", Readonly: true, Image: &runtimeapi.ImageSpec{Image: testImage}, ImageSubPath: sub}}
		}
	}
	h.engineAt("1.47", false)
	sb := h.runSandbox("iv47")
	if _, err := h.createWith(sb, iv("etc")); code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "Docker Engine 28.0") {
		t.Errorf("API 1.47: %v, want Unimplemented naming Docker Engine 28.0", err)
	}

	h.engineAt("1.56", false)
	sb = h.runSandbox("iv56")
	id, err := h.createWith(sb, iv("etc"))
	if err != nil {
		t.Fatal(err)
	}
	hc := h.hostConfig(id)
	if len(hc.Mounts) != 1 || hc.Mounts[0].Type != mount.TypeImage || hc.Mounts[0].Source != img.ID || !hc.Mounts[0].ReadOnly ||
		hc.Mounts[0].ImageOptions == nil || hc.Mounts[0].ImageOptions.Subpath != "etc" {
		t.Fatalf("mounts %+v, want one read-only image mount of %s, sub path etc", hc.Mounts, img.ID)
	}
	st, err := h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Status.Mounts) != 1 || st.Status.Mounts[0].GetImage().GetImageRef() != img.ID || st.Status.Mounts[0].ImageSubPath != "etc" {
		t.Errorf("status mounts %v, want the image volume with image_ref %s", st.Status.Mounts, img.ID)
	}

	for name, m := range map[string]*runtimeapi.Mount{
		"writable":    {ContainerPath: "/iv", Image: &runtimeapi.ImageSpec{Image: testImage}},
		"escaping":    {ContainerPath: "/iv", Readonly: true, Image: &runtimeapi.ImageSpec{Image: testImage}, ImageSubPath: "../../etc"},
		"no image":    {HostPath: "/srv", ContainerPath: "/iv", ImageSubPath: "etc"},
		"unpulled":    {ContainerPath: "/iv", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "example.com/absent:1"}},
		"absolute sp": {ContainerPath: "/iv", Readonly: true, Image: &runtimeapi.ImageSpec{Image: testImage}, ImageSubPath: "/etc"},
	} {
		want := codes.InvalidArgument
		if name == "unpulled" {
			want = codes.NotFound
		}
		if _, err := h.createWith(sb, func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{m} }); code(err) != want {
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}
}

// CDI devices go to Docker's CDI driver where the daemon has CDI enabled;
// elsewhere a clear Unimplemented that says why.
func TestCDIDevices(t *testing.T) {
	h := newHarness(t)
	cdi := func(c *runtimeapi.ContainerConfig) {
		c.CDIDevices = []*runtimeapi.CDIDevice{{Name: "dockerlet.test/dev=one"}, {Name: "dockerlet.test/dev=two"}}
	}
	for _, tc := range []struct {
		api  string
		cdi  bool
		want string
	}{
		{"1.41", false, "Docker Engine 25.0"},
		{"1.56", false, "CDI disabled"},
	} {
		h.engineAt(tc.api, tc.cdi)
		sb := h.runSandbox("cdi" + strings.ReplaceAll(tc.api, ".", ""))
		if _, err := h.createWith(sb, cdi); code(err) != codes.Unimplemented || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("API %s, cdi %v: %v, want Unimplemented naming %q", tc.api, tc.cdi, err, tc.want)
		}
	}
	h.engineAt("1.56", true)
	sb := h.runSandbox("cdion")
	id, err := h.createWith(sb, cdi)
	if err != nil {
		t.Fatal(err)
	}
	reqs := h.hostConfig(id).DeviceRequests
	if len(reqs) != 1 || reqs[0].Driver != "cdi" || strings.Join(reqs[0].DeviceIDs, ",") != "dockerlet.test/dev=one,dockerlet.test/dev=two" {
		t.Errorf("device requests %+v, want one cdi request for both devices", reqs)
	}
	if _, err := h.createWith(sb, func(c *runtimeapi.ContainerConfig) {
		c.CDIDevices = []*runtimeapi.CDIDevice{{Name: "not-qualified"}}
	}); code(err) != codes.InvalidArgument {
		t.Errorf("unqualified CDI name: %v, want InvalidArgument", err)
	}
}
