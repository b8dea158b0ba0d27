package e2e

import (
	"os"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// Once ContainerStatus reports a container exited, its CRI log holds all
// of its output: `crictl logs` right after the exit misses nothing.
func TestLogCompleteWhenStatusSaysExited(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := e.wirePod("drain")
	sb := e.runPod(ctx, cfg)
	id := e.runIn(ctx, sb, cfg, "burst", "sh", "-c", "i=0; while [ $i -lt 5000 ]; do i=$((i+1)); echo line-$i; done; echo last-line")
	var st *runtimeapi.ContainerStatus
	waitFor(t, "container exit", func() bool {
		st = e.containerStatus(id)
		return st.State == runtimeapi.ContainerState_CONTAINER_EXITED
	})
	b, err := os.ReadFile(st.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "stdout F last-line\n") || strings.Count(string(b), " stdout F line-") != 5000 {
		t.Fatalf("log right after exit has %d of 5000 lines, last-line: %v",
			strings.Count(string(b), " stdout F line-"), strings.Contains(string(b), "last-line"))
	}
}

// A container that exits while the server is down gets its final output
// into its CRI log once the server is back.
func TestLogCaughtUpAfterExitWhileDown(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := e.wirePod("down")
	sb := e.runPod(ctx, cfg)
	id := e.runIn(ctx, sb, cfg, "app", "sh", "-c", "echo first-line; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo final-line")
	logPath := e.containerStatus(id).LogPath
	waitFor(t, "first line in the log", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "first-line")
	})
	e.stop()
	// The container prints its last line and exits while no server runs.
	exec, err := e.eng.CreateExec(ctx, id, engine.ExecConfig{Cmd: []string{"touch", "/tmp/go"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.eng.StartExec(ctx, exec, engine.Streams{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "exit while down", func() bool {
		c, err := e.eng.InspectContainer(ctx, id)
		return err == nil && c.State != nil && !c.State.Running
	})
	if b, _ := os.ReadFile(logPath); strings.Contains(string(b), "final-line") {
		t.Fatal("the final line reached the log while no server ran: the test proves nothing")
	}
	e.start()
	waitFor(t, "final line after restart", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "final-line")
	})
}
