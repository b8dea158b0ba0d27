package e2e

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine/enginetest"

	"github.com/dockerlet/dockerlet/internal/pod"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// TestPlayForeground: `play FILE` supervises in the foreground, prints a
// line per change when not on a terminal, streams logs with --logs, and
// Ctrl-C removes its pods.
func TestPlayForeground(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("fg.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-fg, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: `+busyboxImage+`
    command: `+idleCmd("echo hello-from-fg")+`
`)
	cmd := exec.Command(p.bin, "play", "--state-dir", p.state, "--docker-endpoint", testutil.DockerHost(), "--logs", file)
	out := &enginetest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	st := p.waitPod("dltplay-fg", 60*time.Second, "running", func(s pod.PodStatus) bool { return s.Ready })
	const stateLine = "pod dltplay/dltplay-fg container main: Running ready=true restarts=0"
	waitFor(t, "the streamed log line and the state line", func() bool {
		text := out.String()
		return strings.Contains(text, "[dltplay-fg/main] hello-from-fg") && strings.Contains(text, stateLine)
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("play exited with %v:\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		t.Fatalf("play did not stop on Ctrl-C:\n%s", out.String())
	}
	if text := out.String(); !strings.Contains(text, "stopping: removing the pods of") {
		t.Errorf("no word of the teardown:\n%s", text)
	}
	if left := p.containersOf(st.UID); len(left) != 0 {
		t.Fatalf("Ctrl-C left %v", left)
	}
	if sts := p.pods(); len(sts) != 0 {
		t.Fatalf("pods after Ctrl-C: %v", sts)
	}
}
