package restart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

// TestUnjoinableSandboxAfterLiveRestore: after a live-restore
// restart of dockerd, Docker refuses to start a container in a sandbox
// whose IPC namespace it no longer shares ("can't join IPC of container
// …: non-shareable IPC", seen in the chaos runs for a sandbox whose start
// a restart cut short). The loss is made deterministic here by removing
// the restored sandbox's shm mount on the private daemon; Docker's refusal
// is its own. dockerlet must answer FailedPrecondition and stop the
// sandbox, so that it reads NOTREADY and a kubelet replaces it instead of
// creating containers in it forever.
func TestUnjoinableSandboxAfterLiveRestore(t *testing.T) {
	privdockerd.Require(t)
	reg := testutil.StartRegistry(t)
	busybox := reg.PushBusybox(t, "dlcf/busybox:join", testutil.ImageOptions{Marker: "dlcf-join"})
	pause := reg.PushBusybox(t, "dlcf/pause:join", testutil.ImageOptions{
		Marker: "dlcf-join-pause", Cmd: []string{"sh", "-c", loopCmd},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, _, dir := startDaemon(ctx, t, true, busybox, "dlcf-join-")
	srv := serveproc.New(t, serveproc.Options{Dir: dir, PauseImage: pause, Args: []string{"--docker-endpoint", d.Host}})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	conn, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rt := runtimeapi.NewRuntimeServiceClient(conn)

	name := fmt.Sprintf("dlcf-join-%d", time.Now().UnixNano()%1e6)
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "dlcf", Uid: name + "-uid"},
		Linux:    &runtimeapi.LinuxPodSandboxConfig{},
	}
	sbResp, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	sb := sbResp.PodSandboxId
	cc := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: busybox},
		Command:  []string{"sh", "-c", loopCmd},
	}
	cResp, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cc, SandboxConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}

	if err := d.Restart(ctx, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	state := func() runtimeapi.PodSandboxState {
		t.Helper()
		for {
			r, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
			if err == nil {
				return r.Status.State
			}
			if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
				t.Fatalf("PodSandboxStatus: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if st := state(); st != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("sandbox %v after the live-restore restart, want READY", st)
	}
	shm := filepath.Join(d.DataRoot, "containers", sb, "mounts", "shm")
	if err := unix.Unmount(shm, unix.MNT_DETACH); err != nil {
		t.Fatalf("unmount the sandbox's shm %s: %v", shm, err)
	}
	if err := os.Remove(shm); err != nil {
		t.Fatal(err)
	}

	var startErr error
	for {
		_, startErr = rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cResp.ContainerId})
		if status.Code(startErr) != codes.Unavailable || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status.Code(startErr) != codes.FailedPrecondition {
		t.Fatalf("StartContainer in a sandbox Docker cannot join: %v, want FailedPrecondition", startErr)
	}
	t.Logf("StartContainer: %v", startErr)
	if st := state(); st != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("sandbox %v after Docker refused to join it, want NOTREADY", st)
	}
	// A kubelet now stops and removes the pod; both must work.
	if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
}
