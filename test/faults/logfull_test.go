package faults

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// counterCmd writes a numbered line every 20 ms.
const counterCmd = "trap 'exit 0' TERM; i=0; while :; do i=$((i+1)); echo line $i; sleep 0.02; done"

// smallFS mounts a tmpfs of size bytes at a new directory (root only).
func smallFS(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("DOCKERLET_E2E") == "1" {
			t.Fatal("needs root (mount)")
		}
		t.Skip("needs root (mount)")
	}
	dir := workDir(t, "smallfs")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0750", prefix+"-smallfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file in dir until the filesystem is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// logLines reads the stdout contents of a CRI log file.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("CRI log: %v", err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		f := strings.SplitN(line, " ", 4) // "<time> stdout F <content>"
		if len(f) == 4 && f[1] == "stdout" {
			out = append(out, f[3])
		}
	}
	return out
}

// TestLogFilesystemFull: the pod's log directory is on a filesystem that
// fills up while a container writes. The container keeps running, the
// server says so in its log, and once there is room again the copier
// catches up from Docker's log: the CRI log file ends up with every line
// Docker has, once, in order.
func TestLogFilesystemFull(t *testing.T) {
	logDir := smallFS(t, "256k")
	f := newFixture(t, "logfull", "")
	ctx, rt, srv, busybox := f.ctx, f.rt, f.srv, f.busybox
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: prefix + "-logfull", Namespace: prefix, Uid: prefix + "-logfull-uid"},
		LogDirectory: logDir,
	}
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: cfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "counter"}, Image: &runtimeapi.ImageSpec{Image: busybox},
		Command: []string{"sh", "-c", counterCmd}, LogPath: "counter.log",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	filler := fill(t, logDir)
	t.Log("log filesystem full")
	time.Sleep(8 * time.Second)
	st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.ContainerId})
	if err != nil || st.Status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("container with its log filesystem full: %v %v, want running", st.GetStatus().GetState(), err)
	}
	log, _ := os.ReadFile(srv.LogPath)
	if !strings.Contains(string(log), "container log not writable") {
		t.Errorf("the server did not report the full log filesystem:\n%s", tail(string(log), 20))
	}
	full := logLines(t, filepath.Join(logDir, "counter.log"))

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	t.Log("room again")
	// The copier looks again within its back-off (at most 30 s).
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		log, _ = os.ReadFile(srv.LogPath)
		if strings.Contains(string(log), "container log writable again") {
			break
		}
		time.Sleep(time.Second)
	}
	if !strings.Contains(string(log), "container log writable again") {
		t.Errorf("no recovery reported:\n%s", tail(string(log), 20))
	}
	time.Sleep(2 * time.Second)
	if _, err := rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: c.ContainerId, Timeout: 5}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "docker", "logs", c.ContainerId).Output()
	if err != nil {
		t.Fatalf("docker logs: %v", err)
	}
	want := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	got := logLines(t, filepath.Join(logDir, "counter.log"))
	t.Logf("lines: %d in the file when full, %d at the end; Docker has %d", len(full), len(got), len(want))
	if len(want) <= len(full)+100 {
		t.Fatalf("the container wrote only %d lines while the log was full: nothing was tested", len(want)-len(full))
	}
	if !slices.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Errorf("CRI log differs from Docker's at line %d: %d lines vs Docker's %d (got %q…, want %q…)",
			i, len(got), len(want), got[i:min(len(got), i+3)], want[i:min(len(want), i+3)])
	}
	if err := removePod(ctx, rt, sb.PodSandboxId); err != nil {
		t.Error(err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
