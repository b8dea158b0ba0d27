package faults

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestSqueezedContainer: a running container squeezed to small CPU shares
// and memory (as the fuzzer does) — an update below what its processes
// hold fails at once with the reason (FailedPrecondition), not after the
// kernel's reclaim; one above goes through; a stop with no grace period
// kills at once. Each answers well within the 10 s a caller that asked for
// no long timeout may expect.
func TestSqueezedContainer(t *testing.T) {
	f := newFixture(t, "squeeze", "")
	ctx, rt, busybox := f.ctx, f.rt, f.busybox
	cfg := &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: prefix + "-squeeze", Namespace: prefix, Uid: prefix + "-squeeze-uid"}}
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	// 30 MB held in a shell variable: anonymous memory, no swap to go to.
	c, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: cfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "hog"}, Image: &runtimeapi.ImageSpec{Image: busybox},
		Command: []string{"sh", "-c", `x=$(head -c 30000000 /dev/zero | tr "\0" a); echo ready; trap "exit 0" TERM; while :; do sleep 1; done`},
		Linux:   &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{CpuShares: 2, MemoryLimitInBytes: 128 << 20}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(8 * time.Second) // the hog fills its variable
	timed := func(what string, fn func() error) (time.Duration, error) {
		start := time.Now()
		err := fn()
		took := time.Since(start)
		t.Logf("%s: %v in %v", what, status.Code(err), took.Round(time.Millisecond))
		if took > 5*time.Second {
			t.Errorf("%s took %v", what, took)
		}
		return took, err
	}
	update := func(mem int64) func() error {
		return func() error {
			_, err := rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: c.ContainerId,
				Linux: &runtimeapi.LinuxContainerResources{CpuShares: 2, MemoryLimitInBytes: mem}})
			return err
		}
	}
	if _, err := timed("update to 8 MiB (below the 30 MB held)", update(8<<20)); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("update below the working set: %v, want FailedPrecondition", err)
	}
	if _, err := timed("update to 64 MiB", update(64<<20)); err != nil {
		t.Errorf("update above the working set: %v", err)
	}
	if _, err := timed("stop with no grace period", func() error {
		_, err := rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: c.ContainerId, Timeout: 0})
		return err
	}); err != nil {
		t.Errorf("stop: %v", err)
	}
	st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.ContainerId})
	if err != nil || st.Status.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.Status.ExitCode != 137 {
		t.Errorf("after the stop: %v exit %d (%v), want EXITED by SIGKILL (137)", st.GetStatus().GetState(), st.GetStatus().GetExitCode(), err)
	}
	if err := removePod(ctx, rt, sb.PodSandboxId); err != nil {
		t.Error(err)
	}
}
