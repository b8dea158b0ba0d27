package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
)

// apiAtLeast reports whether the engine under test speaks api (negotiated).
func (e *env) apiAtLeast(ctx context.Context, api string) bool {
	e.t.Helper()
	v, err := e.eng.Version(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("engine: Docker %s, API %s", v.Version, v.APIVersion)
	parse := func(s string) (int, int) {
		a, b, _ := strings.Cut(s, ".")
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x, y
	}
	hm, hn := parse(v.APIVersion)
	wm, wn := parse(api)
	return hm > wm || hm == wm && hn >= wn
}

// createWithMounts makes a busybox container running sleep in sb with mounts.
func (e *env) createWithMounts(ctx context.Context, sb string, sbCfg *runtimeapi.PodSandboxConfig, name string, mounts ...*runtimeapi.Mount) (string, error) {
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		e.t.Fatalf("PullImage: %v", err)
	}
	r, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, SandboxConfig: sbCfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: name},
			Image:    &runtimeapi.ImageSpec{Image: e.busybox},
			Command:  []string{"sleep", "3600"},
			Mounts:   mounts,
		}})
	return r.GetContainerId(), err
}

func (e *env) start1(ctx context.Context, id string) {
	e.t.Helper()
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		e.t.Fatalf("StartContainer: %v", err)
	}
}

func (e *env) sh(ctx context.Context, id, script string) (string, int32) {
	e.t.Helper()
	r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", script}, Timeout: 10})
	if err != nil {
		e.t.Fatalf("ExecSync %q: %v", script, err)
	}
	return string(r.Stdout) + string(r.Stderr), r.ExitCode
}

// Recursive read-only mounts on the engine at hand: from API 1.44 a
// recursive mount makes the tmpfs below it read-only too while a plain
// read-only mount leaves it writable (Docker alone would make both
// recursive); before, recursive_read_only is Unimplemented naming Docker
// 25 and a plain read-only mount still works.
func TestRecursiveReadOnlyOnEngine(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	host := t.TempDir()
	sub := filepath.Join(host, "tmpfs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("none", sub, "tmpfs", 0, ""); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): needs root", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(sub, unix.MNT_DETACH) })
	cfg := e.wirePod("rro")
	sb := e.runPod(ctx, cfg)

	ro, err := e.createWithMounts(ctx, sb, cfg, "ro", &runtimeapi.Mount{HostPath: host, ContainerPath: "/mnt", Readonly: true})
	if err != nil {
		t.Fatal(err)
	}
	e.start1(ctx, ro)
	if out, code := e.sh(ctx, ro, "touch /mnt/tmpfs/x && ! touch /mnt/y 2>/dev/null"); code != 0 {
		t.Errorf("non-recursive read-only mount: the tmpfs below must be writable and the mount not (%d: %s)", code, out)
	}

	rro := &runtimeapi.Mount{HostPath: host, ContainerPath: "/mnt", Readonly: true, RecursiveReadOnly: true}
	id, err := e.createWithMounts(ctx, sb, cfg, "rro", rro)
	if !e.apiAtLeast(ctx, "1.44") {
		if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "Docker Engine 25.0") {
			t.Fatalf("recursive read-only before API 1.44: %v, want Unimplemented naming Docker Engine 25.0", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	e.start1(ctx, id)
	if out, code := e.sh(ctx, id, "touch /mnt/tmpfs/z 2>&1 | grep -q 'Read-only file system'"); code != 0 {
		t.Errorf("recursive read-only mount: the tmpfs below is writable (%d: %s)", code, out)
	}
	st, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Status.Mounts) != 1 || !st.Status.Mounts[0].RecursiveReadOnly {
		t.Errorf("status mounts %v, want the one recursive read-only mount", st.Status.Mounts)
	}
	resp, err := e.rt.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range resp.RuntimeHandlers {
		if h.Name == "" && !h.Features.RecursiveReadOnlyMounts {
			t.Errorf("Status: the default handler does not claim recursive read-only mounts")
		}
	}
}

// Image volumes on the engine at hand: from API 1.48 the image's files,
// read-only, at the container path (whole or a sub path), and a sub path
// the image lacks refused at create; before, Unimplemented naming Docker 28.
func TestImageVolumeOnEngine(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := e.wirePod("imgvol")
	sb := e.runPod(ctx, cfg)
	iv := func(sub string) *runtimeapi.Mount {
		return &runtimeapi.Mount{ContainerPath: "/iv", Readonly: true, Image: &runtimeapi.ImageSpec{Image: e.busybox}, ImageSubPath: sub}
	}
	id, err := e.createWithMounts(ctx, sb, cfg, "whole", iv(""))
	if !e.apiAtLeast(ctx, "1.48") {
		if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "Docker Engine 28.0") {
			t.Fatalf("image volume before API 1.48: %v, want Unimplemented naming Docker Engine 28.0", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	e.start1(ctx, id)
	if out, code := e.sh(ctx, id, "/iv/bin/ls /iv/etc/passwd && ! touch /iv/x 2>/dev/null"); code != 0 {
		t.Errorf("image volume: want the image's files, executable and read-only (%d: %s)", code, out)
	}
	st, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Status.Mounts) != 1 || st.Status.Mounts[0].GetImage().GetImageRef() != img.Image.Id {
		t.Errorf("status mounts %v, want the image volume with image_ref %s", st.Status.Mounts, img.Image.Id)
	}

	id, err = e.createWithMounts(ctx, sb, cfg, "sub", iv("etc"))
	if err != nil {
		t.Fatal(err)
	}
	e.start1(ctx, id)
	if out, code := e.sh(ctx, id, "ls /iv/passwd && ! ls /iv/etc 2>/dev/null"); code != 0 {
		t.Errorf("image volume sub path etc: want /iv/passwd (%d: %s)", code, out)
	}

	if _, err := e.createWithMounts(ctx, sb, cfg, "missing", iv("no/such/dir")); status.Code(err) != codes.InvalidArgument {
		t.Errorf("image volume with a sub path the image lacks: %v, want InvalidArgument at create", err)
	}
	// The refused container is gone again.
	list, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: sb}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Containers {
		if c.Metadata.Name == "missing" {
			t.Errorf("the refused container %s is left", c.Id)
		}
	}
}

// Status lists Docker's runtimes as handlers, and a pod run with one of
// them runs on it; a handler Docker lacks is NotFound.
func TestRuntimeHandlersOnEngine(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	resp, err := e.rt.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range resp.RuntimeHandlers {
		names = append(names, h.Name)
	}
	info, err := e.eng.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(info.Runtimes)+1 || names[0] != "" {
		t.Fatalf("handlers %q, want \"\" and Docker's runtimes %v", names, info.Runtimes)
	}
	for _, n := range names[1:] {
		if _, ok := info.Runtimes[n]; !ok {
			t.Errorf("handler %q is not a Docker runtime", n)
		}
	}
	cfg := e.wirePod("handler")
	r, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "io.containerd.runc.v2"})
	if _, ok := info.Runtimes["io.containerd.runc.v2"]; !ok {
		t.Skipf("Docker has no io.containerd.runc.v2 runtime (%v)", names)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = e.rt.RemovePodSandbox(context.Background(), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: r.PodSandboxId})
	})
	in, err := e.eng.InspectContainer(ctx, r.PodSandboxId)
	if err != nil {
		t.Fatal(err)
	}
	if in.HostConfig.Runtime != "io.containerd.runc.v2" {
		t.Errorf("sandbox runs on %q, want io.containerd.runc.v2", in.HostConfig.Runtime)
	}
	st, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: r.PodSandboxId})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.RuntimeHandler != "io.containerd.runc.v2" {
		t.Errorf("sandbox status runtime handler %q", st.Status.RuntimeHandler)
	}
	_, err = e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: e.wirePod("nohandler"), RuntimeHandler: "dltwire-none"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown handler: %v, want NotFound", err)
	}
}

// CDI devices on the engine at hand: Docker 25+ with CDI enabled runs the
// container with the device's edits (here an environment variable from a
// spec in the private daemon's own CDI directory); before API 1.44
// Unimplemented naming Docker 25.
func TestCDIDevicesOnEngine(t *testing.T) {
	cdi := []*runtimeapi.CDIDevice{{Name: "dockerlet.test/dev=one"}}
	var dir string
	e := newEnvWith(t, func(e *env) {
		if !e.apiAtLeast(context.Background(), "1.44") {
			return
		}
		// A private daemon of the same engine that reads CDI specs from a
		// directory of this test's (the machine's /etc/cdi is left alone).
		privdockerd.Require(t)
		dir = t.TempDir()
		spec := `{"cdiVersion": "0.6.0", "kind": "dockerlet.test/dev", "devices": [{"name": "one", "containerEdits": {"env": ["DLCDI=one"]}}]}`
		if err := os.WriteFile(filepath.Join(dir, "dockerlet-test.json"), []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		d := privdockerd.Start(t, privdockerd.Options{Args: []string{"--cdi-spec-dir", dir}})
		eng, err := engine.Connect(d.Host, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Close() })
		e.eng = eng
	})
	ctx := testCtx(t)
	cfg := e.wirePod("cdi")
	sb := e.runPod(ctx, cfg)
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		t.Fatal(err)
	}
	r, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, SandboxConfig: cfg,
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "cdi"},
			Image: &runtimeapi.ImageSpec{Image: e.busybox}, CDIDevices: cdi,
			// The edits apply to the container's own process (an exec gets
			// Docker's configured environment only; /proc/1 is the pod's).
			Command: []string{"sh", "-c", `echo "$DLCDI" >/cdi-env; exec sleep 3600`}}})
	if dir == "" {
		if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "Docker Engine 25.0") {
			t.Fatalf("CDI devices before API 1.44: %v, want Unimplemented naming Docker Engine 25.0", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	e.start1(ctx, r.ContainerId)
	if out, code := e.sh(ctx, r.ContainerId, `for i in 1 2 3 4 5 6 7 8 9 10; do [ -s /cdi-env ] && break; sleep 0.2; done; grep -x one /cdi-env`); code != 0 {
		t.Errorf("the CDI device's edits are not in the container's process (%d: %s)", code, out)
	}
}
