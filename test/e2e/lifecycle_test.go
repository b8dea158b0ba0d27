package e2e

import (
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

func TestPodLifecycleAcrossRestart(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)

	pulled, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}})
	if err != nil {
		t.Fatalf("PullImage: %v", err)
	}
	ist, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}})
	if err != nil || ist.Image == nil || ist.Image.Id != pulled.ImageRef {
		t.Fatalf("ImageStatus after pull: %v %v (pulled %s)", ist, err, pulled.ImageRef)
	}

	sbCfg := e.sandboxConfig("life")
	run, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	sb := run.PodSandboxId
	sst, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
	if err != nil {
		t.Fatal(err)
	}
	if sst.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY || sst.Status.Network.GetIp() == "" {
		t.Errorf("sandbox status: state %v ip %q", sst.Status.State, sst.Status.Network.GetIp())
	}
	if !maps.Equal(sst.Status.Labels, sbCfg.Labels) || !maps.Equal(sst.Status.Annotations, sbCfg.Annotations) {
		t.Errorf("labels %v annotations %v", sst.Status.Labels, sst.Status.Annotations)
	}
	// Managed label on the Docker container itself.
	ins, err := e.eng.InspectContainer(ctx, sb)
	if err != nil || ins.Config.Labels[naming.LabelManaged] != "true" {
		t.Fatalf("sandbox container labels: %v %v", ins, err)
	}

	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: e.busybox},
		Command:  []string{"sh", "-c", "echo hello-$NAME; hostname; cat /etc/resolv.conf; exec sleep 1000"},
		Envs:     []*runtimeapi.KeyValue{{Key: "NAME", Value: []byte(prefix)}},
		LogPath:  "app/0.log",
		Labels:   map[string]string{"role": "app"},
	}
	created, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg, SandboxConfig: sbCfg})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	id := created.ContainerId
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	st := e.containerStatus(id)
	if st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.StartedAt == 0 || st.ImageId != pulled.ImageRef {
		t.Errorf("running status: %v", st)
	}
	logPath := st.LogPath
	waitFor(t, "container log", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "hello-"+prefix) && strings.Contains(string(b), "10.9.8.7") &&
			strings.Contains(string(b), prefix+"-life")
	})

	// Filters.
	ls, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		PodSandboxId: sb[:12], LabelSelector: map[string]string{"role": "app"},
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
	}})
	if err != nil || len(ls.Containers) != 1 || ls.Containers[0].Id != id {
		t.Errorf("ListContainers filtered: %v %v", ls, err)
	}
	ps, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{"pod": "life"},
	}})
	if err != nil || len(ps.Items) != 1 || ps.Items[0].Id != sb {
		t.Errorf("ListPodSandbox filtered: %v %v", ps, err)
	}

	// A restarted server sees the same objects in the same states.
	before := e.containerStatus(id)
	e.restart()
	after := e.containerStatus(id)
	if before.String() != after.String() {
		t.Errorf("container status changed across restart:\n%v\n%v", before, after)
	}
	sst2, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
	if err != nil || sst2.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY || sst2.Status.Network.GetIp() != sst.Status.Network.GetIp() {
		t.Errorf("sandbox after restart: %v %v", sst2, err)
	}

	// Stop: the process dies of the signal, which is an error exit.
	if _, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 1}); err != nil {
		t.Fatal(err)
	}
	st = e.containerStatus(id)
	if st.State != runtimeapi.ContainerState_CONTAINER_EXITED || (st.ExitCode != 137 && st.ExitCode != 143) || st.Reason != "Error" || st.FinishedAt < st.StartedAt {
		t.Errorf("stopped status: %v", st)
	}
	for i := 0; i < 2; i++ {
		if _, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
			t.Fatalf("StopPodSandbox #%d: %v", i, err)
		}
		if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
			t.Fatalf("RemovePodSandbox #%d: %v", i, err)
		}
	}
	if _, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id}); status.Code(err) != codes.NotFound {
		t.Errorf("container status after sandbox removal: %v, want NotFound", err)
	}
	if _, err := e.eng.InspectContainer(ctx, id); err == nil {
		t.Error("the Docker container outlived RemovePodSandbox")
	}
}

func TestInvalidRequestsAreInvalidArgument(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	_, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("RunPodSandbox(nil config): %v", err)
	}
	_, err = e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: "x", Config: &runtimeapi.ContainerConfig{}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("CreateContainer(nil metadata): %v", err)
	}
	_, err = e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: strings.Repeat("0", 64)})
	if status.Code(err) != codes.NotFound {
		t.Errorf("PodSandboxStatus(unknown): %v", err)
	}
}

func TestFailedSandboxRollsBack(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := e.sandboxConfig("rollback")
	// A host port that cannot be bound (already taken by our listener)
	// makes the start fail after the container was created.
	cfg.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: int32(busyPort(t))}}
	if _, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg}); err == nil {
		t.Fatal("RunPodSandbox succeeded on a taken host port")
	}
	ps, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{"pod": "rollback"},
	}})
	if err != nil || len(ps.Items) != 0 {
		t.Errorf("ghost sandbox after a failed RunPodSandbox: %v %v", ps, err)
	}
}

func (e *env) containerStatus(id string) *runtimeapi.ContainerStatus {
	e.t.Helper()
	resp, err := e.rt.ContainerStatus(testCtx(e.t), &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		e.t.Fatalf("ContainerStatus: %v", err)
	}
	return resp.Status
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFailedStartIsExited: Docker lists a container whose start failed as
// "created"; List and Status both say exited, as a kubelet expects.
func TestFailedStartIsExited(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := e.sandboxConfig("nostart")
	sb := e.runPod(ctx, cfg)
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		t.Fatal(err)
	}
	created, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, SandboxConfig: cfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "nostart"},
			Image:    &runtimeapi.ImageSpec{Image: e.busybox},
			Command:  []string{"/no/such/command"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.ContainerId
	_, err = e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id})
	if err == nil {
		t.Fatal("a container without its command started")
	}
	if c := status.Code(err); c == codes.Unknown || c == codes.OK {
		t.Errorf("StartContainer: %v", err)
	}
	if st := e.containerStatus(id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Errorf("ContainerStatus: %v, want EXITED", st.State)
	}
	list, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		PodSandboxId: sb, State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_EXITED},
	}})
	if err != nil || len(list.Containers) != 1 || list.Containers[0].Id != id {
		t.Errorf("ListContainers(EXITED) = %v, %v; want the container", list.GetContainers(), err)
	}
}
