package security

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// TestForeignContainersUntouchable: a user's running container named and
// labelled like a Kubernetes one is never listed, inspected, stopped,
// exec'd into or removed, by id, id prefix or name, through any RPC.
func TestForeignContainersUntouchable(t *testing.T) {
	e := newEnv(t, "", "", "info")
	ctx := e.ctx
	if err := e.eng.PullImage(ctx, e.busybox, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("k8s_fake_%s-sec-%d_ns_uid_0", prefix, time.Now().UnixNano()%1e9)
	foreign, err := e.eng.CreateContainer(ctx, engine.CreateSpec{
		Name: name,
		Config: &container.Config{Image: e.busybox, Cmd: []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
			Labels: map[string]string{naming.LabelType: naming.TypeContainer, naming.LabelSandboxID: "x"}},
		HostConfig: &container.HostConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.eng.RemoveContainer(context.Background(), foreign, engine.RemoveOptions{Force: true}) })
	if err := e.eng.StartContainer(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	// A pod of the server's own, so that listing has something to list.
	sb, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: prefix + "-sec", Namespace: prefix, Uid: prefix + "-sec-uid"},
		Labels:   map[string]string{"sec": "1"},
	}})
	if err != nil {
		t.Fatal(err)
	}

	// (No shorter prefix: the engine is shared, and a short one could
	// name another test's pod.)
	refs := []string{foreign, foreign[:12], name, "/" + name}
	for _, ref := range refs {
		calls := map[string]func() error{
			"StopPodSandbox": func() error {
				_, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: ref})
				return err
			},
			"RemovePodSandbox": func() error {
				_, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: ref})
				return err
			},
			"PodSandboxStatus": func() error {
				_, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: ref})
				return err
			},
			"PodSandboxStats": func() error {
				_, err := e.rt.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: ref})
				return err
			},
			"PortForward": func() error {
				_, err := e.rt.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: ref, Port: []int32{80}})
				return err
			},
			"StopContainer": func() error {
				_, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ref})
				return err
			},
			"RemoveContainer": func() error {
				_, err := e.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: ref})
				return err
			},
			"StartContainer": func() error {
				_, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ref})
				return err
			},
			"ContainerStatus": func() error {
				_, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ref})
				return err
			},
			"ContainerStats": func() error {
				_, err := e.rt.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: ref})
				return err
			},
			"UpdateContainerResources": func() error {
				_, err := e.rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: ref, Linux: &runtimeapi.LinuxContainerResources{CpuShares: 3}})
				return err
			},
			"ExecSync": func() error {
				_, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ref, Cmd: []string{"touch", "/pwned"}, Timeout: 5})
				return err
			},
			"Exec": func() error {
				_, err := e.rt.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: ref, Cmd: []string{"sh"}, Stdout: true})
				return err
			},
			"Attach": func() error {
				_, err := e.rt.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: ref, Stdout: true})
				return err
			},
			"ReopenContainerLog": func() error {
				_, err := e.rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: ref})
				return err
			},
			"CreateContainer in it": func() error {
				_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: ref, Config: &runtimeapi.ContainerConfig{
					Metadata: &runtimeapi.ContainerMetadata{Name: "x"}, Image: &runtimeapi.ImageSpec{Image: e.busybox}}})
				return err
			},
		}
		for rpc, call := range calls {
			err := call()
			// Stop and Remove of an unknown id succeed (idempotent); all
			// else must not find it.
			if c := status.Code(err); c != codes.OK && c != codes.NotFound && c != codes.InvalidArgument {
				t.Errorf("%s(%q): %v", rpc, ref, err)
			}
			if err == nil && !strings.HasPrefix(rpc, "Stop") && !strings.HasPrefix(rpc, "Remove") {
				t.Errorf("%s(%q) succeeded on a foreign container", rpc, ref)
			}
		}
		if l, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: ref}}); err == nil && len(l.Containers) > 0 {
			t.Errorf("ListContainers(id %q) listed %d", ref, len(l.Containers))
		}
		if l, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{Id: ref}}); err == nil && len(l.Items) > 0 {
			t.Errorf("ListPodSandbox(id %q) listed %d", ref, len(l.Items))
		}
	}
	all, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all.Containers {
		if c.Id == foreign {
			t.Error("ListContainers lists the foreign container")
		}
	}
	sbs, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sbs.Items {
		if s.Id == foreign {
			t.Error("ListPodSandbox lists the foreign container")
		}
	}

	fc, err := e.eng.InspectContainer(ctx, foreign)
	if err != nil {
		t.Fatalf("foreign container gone: %v", err)
	}
	if fc.State == nil || !fc.State.Running {
		t.Errorf("foreign container no longer runs: %+v", fc.State)
	}
	if len(fc.ExecIDs) > 0 {
		t.Errorf("an exec ran in the foreign container: %v", fc.ExecIDs)
	}
	if fc.HostConfig.CPUShares == 3 {
		t.Error("the foreign container's resources were updated")
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.PodSandboxId}); err != nil {
		t.Error(err)
	}
}
