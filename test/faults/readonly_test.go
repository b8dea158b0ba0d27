package faults

import (
	"os/exec"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// TestReadOnlyRootDirectory: the server's root directory (checkpoints)
// turns read-only under running pods. What needs no write goes on — lists,
// statuses, exec, stopping and removing containers; what must write a
// checkpoint fails with FailedPrecondition saying so, and leaves nothing
// behind; once the directory is writable again everything works.
func TestReadOnlyRootDirectory(t *testing.T) {
	root := smallFS(t, "16m")
	f := newFixture(t, "ro", root, "--root-directory", root)
	ctx, rt, eng, busybox := f.ctx, f.rt, f.eng, f.busybox
	p, err := runPod(ctx, rt, "ro-before", busybox, workDir(t, "ro-logs"))
	if err != nil {
		t.Fatal(err)
	}
	remount := func(mode string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,"+mode, root).CombinedOutput(); err != nil {
			t.Fatalf("remount %s: %v: %s", mode, err, out)
		}
	}
	remount("ro")
	t.Cleanup(func() { _ = exec.Command("mount", "-o", "remount,rw", root).Run() })

	if _, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err != nil {
		t.Errorf("ListPodSandbox with the root read-only: %v", err)
	}
	if st, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.sandbox}); err != nil || st.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("PodSandboxStatus with the root read-only: %v %v", st.GetStatus().GetState(), err)
	}
	if r, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: p.container, Cmd: []string{"true"}, Timeout: 10}); err != nil || r.ExitCode != 0 {
		t.Errorf("ExecSync with the root read-only: %v", err)
	}
	_, err = rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: prefix + "-ro-new", Namespace: prefix, Uid: prefix + "-ro-new-uid"}}})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("RunPodSandbox with the root read-only: %v, want FailedPrecondition", err)
	} else {
		t.Logf("RunPodSandbox with the root read-only: %v", err)
	}
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{}}})
	if err == nil {
		for _, s := range list.Items {
			if s.Metadata.Name == prefix+"-ro-new" {
				t.Errorf("the failed RunPodSandbox left a sandbox: %s %v", s.Id[:12], s.State)
			}
		}
	}
	if _, err := rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: p.container, Timeout: 2}); err != nil {
		t.Errorf("StopContainer with the root read-only: %v", err)
	}

	remount("rw")
	if err := removePod(ctx, rt, p.sandbox); err != nil {
		t.Errorf("after the root is writable again: %v", err)
	}
	q, err := runPod(ctx, rt, "ro-after", busybox, workDir(t, "ro-logs"))
	if err != nil {
		t.Fatalf("a pod after the root is writable again: %v", err)
	}
	if err := removePod(ctx, rt, q.sandbox); err != nil {
		t.Error(err)
	}
	if n, _ := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{"io.dockerlet.root-dir=" + root}}); len(n) != 0 {
		t.Errorf("%d containers of the server left", len(n))
	}
}
