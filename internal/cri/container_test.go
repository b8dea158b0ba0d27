package cri

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

func TestCreateContainerValidation(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("v")
	mod := func(f func(c *runtimeapi.ContainerConfig)) *runtimeapi.ContainerConfig {
		c := containerConfig("c")
		f(c)
		return c
	}
	for name, req := range map[string]*runtimeapi.CreateContainerRequest{
		"nil config":    {PodSandboxId: sb},
		"no sandbox id": {Config: containerConfig("c")},
		"nil metadata":  {PodSandboxId: sb, Config: mod(func(c *runtimeapi.ContainerConfig) { c.Metadata = nil })},
		"empty name":    {PodSandboxId: sb, Config: mod(func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = "" })},
		"nil image":     {PodSandboxId: sb, Config: mod(func(c *runtimeapi.ContainerConfig) { c.Image = nil })},
		"nil mount":     {PodSandboxId: sb, Config: mod(func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{nil} })},
		"nil env":       {PodSandboxId: sb, Config: mod(func(c *runtimeapi.ContainerConfig) { c.Envs = []*runtimeapi.KeyValue{nil} })},
		"group without user": {PodSandboxId: sb, Config: mod(func(c *runtimeapi.ContainerConfig) {
			c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{RunAsGroup: &runtimeapi.Int64Value{Value: 1}}}
		})},
	} {
		_, err := h.rt().CreateContainer(h.ctx, req)
		if code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v (%v), want InvalidArgument", name, code(err), err)
		}
	}
	_, err := h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: strings.Repeat("f", 64), Config: containerConfig("c")})
	if code(err) != codes.NotFound {
		t.Errorf("unknown sandbox: %v, want NotFound", err)
	}
	_, err = h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb,
		Config: mod(func(c *runtimeapi.ContainerConfig) { c.Image.Image = "absent:1" })})
	if code(err) != codes.NotFound {
		t.Errorf("absent image: %v, want NotFound", err)
	}
}

func TestContainerLifecycle(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("life")
	id := h.createContainer(sb, "app")

	st := h.status(id)
	if st.State != runtimeapi.ContainerState_CONTAINER_CREATED || st.Metadata.Name != "app" || st.Metadata.Attempt != 2 {
		t.Fatalf("created status: %v", st)
	}
	if !maps.Equal(st.Labels, map[string]string{"c": "app"}) || !maps.Equal(st.Annotations, map[string]string{"ca": "x"}) {
		t.Errorf("labels/annotations: %v %v", st.Labels, st.Annotations)
	}
	if st.Image.Image != "busybox" || !strings.HasPrefix(st.ImageId, "sha256:") {
		t.Errorf("image %v / image id %q", st.Image, st.ImageId)
	}
	c, _ := h.fake.InspectContainer(h.ctx, id)
	if string(c.HostConfig.NetworkMode) != "container:"+sb || string(c.HostConfig.IpcMode) != "container:"+sb {
		t.Errorf("namespaces: net=%s ipc=%s", c.HostConfig.NetworkMode, c.HostConfig.IpcMode)
	}
	if c.Config.Labels[naming.LabelSandboxID] != sb || !slices.Equal(c.Config.Entrypoint, []string{"sleep", "1000"}) {
		t.Errorf("labels %v entrypoint %v", c.Config.Labels, c.Config.Entrypoint)
	}

	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id[:10]}); err != nil {
		t.Fatal(err)
	}
	if st := h.status(id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.StartedAt == 0 {
		t.Fatalf("running status: %v", st)
	}
	h.exit(id, 3)
	st = h.status(id)
	if st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 3 || st.Reason != reasonError || st.FinishedAt == 0 {
		t.Errorf("exited status: %v", st)
	}
	for i := 0; i < 2; i++ {
		if _, err := h.svc.StopContainer(h.ctx, &runtimeapi.StopContainerRequest{ContainerId: id}); err != nil {
			t.Fatalf("stop %d: %v", i, err)
		}
		if _, err := h.svc.RemoveContainer(h.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Fatalf("remove %d: %v", i, err)
		}
	}
	if _, err := h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id}); code(err) != codes.NotFound {
		t.Errorf("status after remove: %v", err)
	}
}

func TestContainerExitReasons(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("why")
	for _, tc := range []struct {
		name   string
		exit   func(id string)
		reason string
	}{
		{"ok", func(id string) { h.exit(id, 0) }, reasonCompleted},
		{"err", func(id string) { h.exit(id, 1) }, reasonError},
		{"oom", h.oomKill, reasonOOMKilled},
	} {
		id := h.createContainer(sb, tc.name)
		if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
		tc.exit(id)
		if st := h.status(id); st.Reason != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, st.Reason, tc.reason)
		}
	}
}

func TestListContainersFilters(t *testing.T) {
	h := newHarness(t)
	sb1, sb2 := h.runSandbox("one"), h.runSandbox("two")
	a, b, c := h.createContainer(sb1, "a"), h.createContainer(sb1, "b"), h.createContainer(sb2, "c")
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: b}); err != nil {
		t.Fatal(err)
	}
	running := &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}
	for name, tc := range map[string]struct {
		f    *runtimeapi.ContainerFilter
		want []string
	}{
		"none":           {nil, []string{a, b, c}},
		"id prefix":      {&runtimeapi.ContainerFilter{Id: c[:9]}, []string{c}},
		"sandbox":        {&runtimeapi.ContainerFilter{PodSandboxId: sb1}, []string{a, b}},
		"sandbox prefix": {&runtimeapi.ContainerFilter{PodSandboxId: sb2[:7]}, []string{c}},
		"state":          {&runtimeapi.ContainerFilter{State: running}, []string{b}},
		"label":          {&runtimeapi.ContainerFilter{LabelSelector: map[string]string{"c": "a"}}, []string{a}},
		"id + sandbox":   {&runtimeapi.ContainerFilter{Id: a, PodSandboxId: sb2}, nil},
	} {
		resp, err := h.svc.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{Filter: tc.f})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, x := range resp.Containers {
			got = append(got, x.Id)
		}
		if !sameSet(got, tc.want) {
			t.Errorf("%s: got %v, want %v", name, got, tc.want)
		}
	}
}

func TestRemoveSandboxRemovesContainers(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("rm")
	id := h.createContainer(sb, "x")
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.InspectContainer(h.ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("container of removed sandbox: %v", err)
	}
}

func TestContainerSpecTranslation(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("spec")
	cfg := containerConfig("s")
	cfg.Args = []string{"-c", "x"}
	cfg.WorkingDir = "/w"
	cfg.Envs = []*runtimeapi.KeyValue{{Key: "A", Value: []byte("1")}}
	cfg.Tty, cfg.Stdin, cfg.StdinOnce = true, true, true
	cfg.Mounts = []*runtimeapi.Mount{
		{HostPath: "/h1", ContainerPath: "/c1", Readonly: true},
		{HostPath: "/h2", ContainerPath: "/c2", Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
		{HostPath: "/h3", ContainerPath: "/c3", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
	}
	cfg.Linux = &runtimeapi.LinuxContainerConfig{
		Resources: &runtimeapi.LinuxContainerResources{CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000, MemoryLimitInBytes: 64 << 20, CpusetCpus: "0"},
		SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			Capabilities:       &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"ALL"}},
			RunAsUser:          &runtimeapi.Int64Value{Value: 1000},
			RunAsGroup:         &runtimeapi.Int64Value{Value: 2000},
			SupplementalGroups: []int64{3000},
			ReadonlyRootfs:     true,
			NoNewPrivs:         true,
			NamespaceOptions:   &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD},
			Seccomp:            &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined},
			MaskedPaths:        []string{"/proc/kcore"},
		},
	}
	resp, err := h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := h.fake.InspectContainer(h.ctx, resp.ContainerId)
	hc, cc := c.HostConfig, c.Config
	if !slices.Equal(hc.Binds, []string{"/h1:/c1:ro,rprivate", "/h2:/c2:rslave", "/h3:/c3:rshared"}) {
		t.Errorf("binds %v", hc.Binds)
	}
	if cc.User != "1000:2000" || !slices.Equal(hc.GroupAdd, []string{"3000"}) || !hc.ReadonlyRootfs {
		t.Errorf("user %q groups %v ro %v", cc.User, hc.GroupAdd, hc.ReadonlyRootfs)
	}
	if string(hc.PidMode) != "container:"+sb {
		t.Errorf("pid mode %s", hc.PidMode)
	}
	if !slices.Contains(hc.SecurityOpt, "no-new-privileges") || !slices.Contains(hc.SecurityOpt, "seccomp=unconfined") {
		t.Errorf("security opts %v", hc.SecurityOpt)
	}
	if hc.CPUShares != 512 || hc.CPUQuota != 50000 || hc.Memory != 64<<20 || hc.CpusetCpus != "0" {
		t.Errorf("resources %+v", hc.Resources)
	}
	if !slices.Equal(hc.CapAdd, []string{"NET_ADMIN"}) || !slices.Equal(hc.CapDrop, []string{"ALL"}) {
		t.Errorf("caps %v %v", hc.CapAdd, hc.CapDrop)
	}
	if !cc.Tty || !cc.OpenStdin || !cc.StdinOnce || cc.WorkingDir != "/w" || !slices.Contains(cc.Env, "A=1") {
		t.Errorf("config %+v", cc)
	}
	if !slices.Equal(hc.MaskedPaths, []string{"/proc/kcore"}) {
		t.Errorf("masked paths %v", hc.MaskedPaths)
	}
	// What Docker cannot carry is Unimplemented, not dropped.
	cfg.Metadata.Name = "s2"
	cfg.Mounts = []*runtimeapi.Mount{{HostPath: "/h", ContainerPath: "/c", RecursiveReadOnly: true, Readonly: true}}
	_, err = h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg})
	if code(err) != codes.Unimplemented {
		t.Errorf("recursive read-only: %v, want Unimplemented", err)
	}
}

func TestNoSecurityContextIsUnconfined(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("sec")
	id := h.createContainer(sb, "plain")
	c, _ := h.fake.InspectContainer(h.ctx, id)
	if !slices.Contains(c.HostConfig.SecurityOpt, "seccomp=unconfined") {
		t.Errorf("security opts %v", c.HostConfig.SecurityOpt)
	}
}

func (h *harness) status(id string) *runtimeapi.ContainerStatus {
	h.t.Helper()
	resp, err := h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		h.t.Fatalf("ContainerStatus(%s): %v", id, err)
	}
	return resp.Status
}

// Docker 20.10 rejects a private bind whose source starts with its data
// root as a string; such binds become rslave, others stay rprivate.
func TestBindsForDockerRootPrefix(t *testing.T) {
	mounts := []*runtimeapi.Mount{
		{HostPath: "/var/lib/dockerlet/play/vol", ContainerPath: "/data"},
		{HostPath: "/srv/data", ContainerPath: "/srv", Readonly: true},
		{HostPath: "/var/lib/docker-x", ContainerPath: "/x", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
	}
	got, _, err := mountsFor(mounts, engineEnv{dockerRoot: "/var/lib/docker", features: engineFeatures{api: "1.41"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/var/lib/dockerlet/play/vol:/data:rslave", "/srv/data:/srv:ro,rprivate", "/var/lib/docker-x:/x:rshared"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("binds = %v, want %v", got, want)
	}
}

func TestRemoveRacingAnotherRemoval(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("race")
	id := h.createContainer(sb, "x")
	// Docker refuses a second concurrent removal; the first one finishes.
	h.fake.InjectError("RemoveContainer", fmt.Errorf("removal of container %s is already in progress: %w", id, errdefs.ErrConflict))
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = h.fake.RemoveContainer(context.Background(), id, engine.RemoveOptions{Force: true})
	}()
	if _, err := h.svc.RemoveContainer(h.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatalf("RemoveContainer racing another removal: %v", err)
	}
}

// The kubelet creates a container from the image's id and sends the name
// the pod gave as UserSpecifiedImage; the status (and so the pod's
// status.containerStatuses[].image) must name the image, not its id. A
// create without it, from an id, reports the image's first tag, as
// dockershim and containerd do; a create from a name reports that name.
func TestContainerStatusImageName(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("img")
	img, err := h.fake.InspectImageByRef(h.ctx, testImage)
	if err != nil {
		t.Fatal(err)
	}
	tag := img.RepoTags[0]
	create := func(name string, spec *runtimeapi.ImageSpec) string {
		cfg := containerConfig(name)
		cfg.Image = spec
		resp, err := h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg, SandboxConfig: sandboxConfig("img")})
		if err != nil {
			t.Fatalf("CreateContainer(%s): %v", name, err)
		}
		return resp.ContainerId
	}
	for _, c := range []struct {
		name     string
		spec     *runtimeapi.ImageSpec
		want     string
		wantUser string
	}{
		{"kubelet", &runtimeapi.ImageSpec{Image: img.ID, UserSpecifiedImage: "busybox:latest"}, "busybox:latest", "busybox:latest"},
		{"by-id", &runtimeapi.ImageSpec{Image: img.ID}, tag, ""},
		{"by-short-id", &runtimeapi.ImageSpec{Image: strings.TrimPrefix(img.ID, "sha256:")[:12]}, tag, ""},
		{"by-name", &runtimeapi.ImageSpec{Image: "busybox"}, "busybox", ""},
	} {
		id := create(c.name, c.spec)
		st := h.status(id)
		if st.Image.GetImage() != c.want || st.Image.GetUserSpecifiedImage() != c.wantUser || st.ImageId != img.ID {
			t.Errorf("%s: status image %v, image id %q; want %q (user-specified %q), %q", c.name, st.Image, st.ImageId, c.want, c.wantUser, img.ID)
		}
		list, err := h.svc.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: id}})
		if err != nil || len(list.Containers) != 1 {
			t.Fatalf("%s: list: %v %v", c.name, list, err)
		}
		if c.wantUser != "" && list.Containers[0].Image.GetImage() != c.wantUser {
			t.Errorf("%s: listed image %v, want %q", c.name, list.Containers[0].Image, c.wantUser)
		}
	}
}
