package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestLogPathSymlinkConfined: the log copier writes as root, so a symlink
// planted in a pod's log directory must not lead a container's log out of
// it. The container still runs; its log is simply not written there.
func TestLogPathSymlinkConfined(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	outside := t.TempDir()
	sbCfg := e.sandboxConfig("dlrob2-logsym")
	sb := e.runPod(ctx, sbCfg)
	if err := os.Symlink(outside, filepath.Join(sbCfg.LogDirectory, "evil")); err != nil {
		t.Fatal(err)
	}
	run := func(name, logPath string) string {
		created, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, SandboxConfig: sbCfg,
			Config: &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: name},
				Image:    &runtimeapi.ImageSpec{Image: e.busybox},
				Command:  []string{"sh", "-c", "echo out-of-" + name + "; exec sleep 1000"},
				LogPath:  logPath,
			}})
		if err != nil {
			t.Fatalf("CreateContainer %s: %v", name, err)
		}
		if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
			t.Fatalf("StartContainer %s: %v", name, err)
		}
		return created.ContainerId
	}
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		t.Fatal(err)
	}
	bad := run("bad", "evil/0.log")
	run("good", "good/0.log")
	good := filepath.Join(sbCfg.LogDirectory, "good", "0.log")
	waitFor(t, "the confined container's log", func() bool {
		b, _ := os.ReadFile(good)
		return strings.Contains(string(b), "out-of-good")
	})
	// The bad one runs, and its status names the path asked for.
	if st := e.containerStatus(bad); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || !strings.HasSuffix(st.LogPath, "evil/0.log") {
		t.Errorf("bad container: %v %s", st.State, st.LogPath)
	}
	// ReopenContainerLog (kubelet rotation) refuses as well.
	if _, err := e.rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: bad}); err == nil {
		t.Log("ReopenContainerLog of the unconfined log answered OK")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the pod's log directory: %v", entries)
	}
}
