package restart

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// checkLog stops the counter container and compares its CRI log file with
// Docker's own log: the copier must have followed it through the restart
// (resumed with live-restore, caught up without) — every line, once, in
// order. ContainerStatus EXITED promises a complete file.
func (e *env) checkLog(ctx context.Context, host, id, path string) {
	e.retry(ctx, "StopContainer", func(cctx context.Context) error {
		_, err := e.rt.StopContainer(cctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 5})
		return err
	})
	st, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil || st.Status.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		e.t.Fatalf("counter container after stop: %v %v", st.GetStatus().GetState(), err)
	}
	out, err := exec.CommandContext(ctx, "docker", "-H", host, "logs", id).Output()
	if err != nil {
		e.t.Fatalf("docker logs: %v", err)
	}
	want := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	b, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatalf("CRI log: %v", err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		// "<time> stdout F <content>"
		f := strings.SplitN(line, " ", 4)
		if len(f) == 4 && f[1] == "stdout" {
			got = append(got, f[3])
		}
	}
	if len(want) < 20 {
		e.t.Fatalf("docker has only %d lines of the counter", len(want))
	}
	if !slices.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		e.t.Errorf("CRI log of the counter differs from Docker's at line %d: %d lines vs Docker's %d (got %q…, want %q…)",
			i, len(got), len(want), got[i:min(len(got), i+3)], want[i:min(len(want), i+3)])
		return
	}
	e.t.Logf("counter log complete through the restart: %d lines", len(got))
}
