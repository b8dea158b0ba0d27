// Package faults puts `dockerlet serve` (the real binary) through faults
// that are not crashes: a hung dockerd (a private one, frozen with
// SIGSTOP), a full log filesystem, a read-only root directory. The server
// must answer within its request timeout with a code that says what
// happened, keep what it can running, and recover when the fault goes.
package faults

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

const prefix = "dlhd"

const loopCmd = "trap 'exit 0' TERM; while :; do sleep 1; done"

func workDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix+"-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o750)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

type pod struct {
	cfg       *runtimeapi.PodSandboxConfig
	sandbox   string
	container string
}

// runPod runs a pod with one looping container.
func runPod(ctx context.Context, rt runtimeapi.RuntimeServiceClient, name, image, logDir string) (pod, error) {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: prefix + "-" + name, Namespace: prefix, Uid: prefix + "-" + name + "-uid"},
		LogDirectory: logDir,
	}
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return pod{}, fmt.Errorf("RunPodSandbox: %w", err)
	}
	c, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: cfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: image},
		Command: []string{"sh", "-c", loopCmd}, LogPath: "c.log",
	}})
	if err != nil {
		return pod{}, fmt.Errorf("CreateContainer: %w", err)
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		return pod{}, fmt.Errorf("StartContainer: %w", err)
	}
	return pod{cfg: cfg, sandbox: sb.PodSandboxId, container: c.ContainerId}, nil
}

// removePod stops and removes a pod.
func removePod(ctx context.Context, rt runtimeapi.RuntimeServiceClient, sb string) error {
	if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
		return fmt.Errorf("StopPodSandbox: %w", err)
	}
	if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		return fmt.Errorf("RemovePodSandbox: %w", err)
	}
	return nil
}

// fixture is a server on the shared dockerd with its own test images.
type fixture struct {
	eng     *engine.Client
	srv     *serveproc.Server
	rt      runtimeapi.RuntimeServiceClient
	img     runtimeapi.ImageServiceClient
	busybox string
	pause   string
	ctx     context.Context
}

// newFixture starts a server named name with extra flags (after the
// server's root directory is set, so --root-directory may override it:
// then pass root too) and pulls the busybox image through it.
func newFixture(t *testing.T, name, root string, args ...string) *fixture {
	t.Helper()
	testutil.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	reg := testutil.StartRegistry(t)
	f := &fixture{ctx: ctx}
	f.busybox = reg.PushBusybox(t, prefix+"/busybox:"+name, testutil.ImageOptions{Marker: prefix + "-" + name})
	f.pause = reg.PushBusybox(t, prefix+"/pause:"+name, testutil.ImageOptions{Marker: prefix + "-" + name + "-pause", Cmd: []string{"sh", "-c", loopCmd}})
	eng, err := engine.Connect(testutil.DockerHost(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.eng = eng
	t.Cleanup(func() { eng.Close() })
	t.Cleanup(func() {
		for _, ref := range []string{f.busybox, f.pause} {
			_, _ = eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
		}
	})
	f.srv = serveproc.New(t, serveproc.Options{Dir: workDir(t, name), PauseImage: f.pause, Args: args})
	if root != "" {
		f.srv.Root = root
	}
	if err := f.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.srv.Stop)
	t.Cleanup(func() { serveproc.RemoveOwn(eng, f.srv.Root) })
	conn, err := f.srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.rt, f.img = runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
	if _, err := f.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: f.busybox}}); err != nil {
		t.Fatal(err)
	}
	return f
}
