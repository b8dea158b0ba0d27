package testutil

import (
	"context"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RunPod runs a sandbox with sb, then creates and starts one container
// with c in it, as the kubelet does, through a CRI server (the Service
// itself, or its in-process gate), and returns the two ids.
func RunPod(ctx context.Context, tb testing.TB, rt runtimeapi.RuntimeServiceServer, sb *runtimeapi.PodSandboxConfig, c *runtimeapi.ContainerConfig) (sandbox, container string) {
	tb.Helper()
	r, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sb})
	if err != nil {
		tb.Fatalf("RunPodSandbox %s: %v", sb.GetMetadata().GetName(), err)
	}
	cr, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: r.PodSandboxId, SandboxConfig: sb, Config: c})
	if err != nil {
		tb.Fatalf("CreateContainer %s in %s: %v", c.GetMetadata().GetName(), sb.GetMetadata().GetName(), err)
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
		tb.Fatalf("StartContainer %s in %s: %v", c.GetMetadata().GetName(), sb.GetMetadata().GetName(), err)
	}
	return r.PodSandboxId, cr.ContainerId
}
