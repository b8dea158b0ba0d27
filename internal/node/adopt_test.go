package node_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/adopt"
	"github.com/dockerlet/dockerlet/internal/adopt/adopttest"
	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/node"
)

// recordingNetwork is a network plugin that records teardowns.
type recordingNetwork struct {
	mu    sync.Mutex
	downs []network.Pod
	fail  error // what TearDown answers
}

func (r *recordingNetwork) Name() string  { return "recording" }
func (r *recordingNetwork) Status() error { return nil }
func (r *recordingNetwork) Prepare(context.Context, *network.Pod, *engine.CreateSpec) error {
	return nil
}

func (r *recordingNetwork) SetUp(context.Context, *network.Pod, string) (*network.Result, error) {
	return &network.Result{}, nil
}

func (r *recordingNetwork) IPs(context.Context, *network.Pod, *container.InspectResponse) ([]string, error) {
	return nil, nil
}

func (r *recordingNetwork) TearDown(_ context.Context, p *network.Pod, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.downs = append(r.downs, *p)
	return r.fail
}

func (r *recordingNetwork) tornDown() []network.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]network.Pod(nil), r.downs...)
}

// kubeletPod is a pod with the labels and annotations the kubelet gives.
func kubeletPod(name string) adopttest.Pod {
	uid := "uid-" + name
	podLabels := map[string]string{
		"app": name, "io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": uid,
	}
	ctrLabels := map[string]string{
		"io.kubernetes.container.name": "web", "io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": uid,
	}
	return adopttest.Pod{
		Name: name, Namespace: "default", UID: uid, Attempt: 1,
		Labels:       podLabels,
		Annotations:  map[string]string{"kubernetes.io/config.source": "api", "kubernetes.io/config.seen": "2026-12-05T09:00:00Z"},
		PauseImage:   cri.DefaultPodInfraImage,
		LogDirectory: "/var/log/pods/default_" + name + "_" + uid,
		Containers: []adopttest.Container{{
			Name: "web", Attempt: 2, Image: "busybox:latest", Command: []string{"sleep", "3600"},
			Labels:      ctrLabels,
			Annotations: map[string]string{"io.kubernetes.container.hash": "1a2b3c4d", "io.kubernetes.container.restartCount": "2"},
		}},
		Start: true,
	}
}

type adoptFixture struct {
	ctx     context.Context
	f       *fake.Fake
	root    string // cri-dockerd's
	net     *recordingNetwork
	pod     adopttest.Pod
	made    *adopttest.Made
	foreign *adopttest.Made // another cri-dockerd's: no checkpoint here
}

func newAdoptFixture(t *testing.T) *adoptFixture {
	t.Helper()
	x := &adoptFixture{ctx: context.Background(), f: fake.New(), root: t.TempDir(), net: &recordingNetwork{}}
	x.f.AddImage(image.InspectResponse{RepoTags: []string{cri.DefaultPodInfraImage}})
	x.f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	x.pod = kubeletPod("web")
	var err error
	if x.made, err = adopttest.Make(x.ctx, x.f, x.root, x.pod); err != nil {
		t.Fatal(err)
	}
	if x.foreign, err = adopttest.Make(x.ctx, x.f, t.TempDir(), kubeletPod("other")); err != nil {
		t.Fatal(err)
	}
	return x
}

func (x *adoptFixture) node(t *testing.T, adoptFrom string) *node.Node {
	t.Helper()
	n, err := node.New(x.ctx, node.Options{
		Engine: x.f, RootDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Version: "test",
		NetworkPlugin: x.net, AdoptCRIDockerd: adoptFrom,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func createdNanos(t *testing.T, f *fake.Fake, id string) int64 {
	t.Helper()
	in, err := f.InspectContainer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339Nano, in.Created)
	if err != nil {
		t.Fatal(err)
	}
	return ts.UnixNano()
}

// A node adopting cri-dockerd's pods lists them with the kubelet's
// metadata, labels and annotations, their ids, state and creation time,
// and answers status for them; another cri-dockerd's pods stay unseen.
func TestAdoptedPodsAreListed(t *testing.T) {
	x := newAdoptFixture(t)
	n := x.node(t, x.root)
	rt := n.InProcess()
	ctx := x.ctx

	sbs, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sbs.Items) != 1 || sbs.Items[0].Id != x.made.SandboxID {
		t.Fatalf("sandboxes %v, want only %s", sbs.Items, x.made.SandboxID)
	}
	sb := sbs.Items[0]
	wantMeta := &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "uid-web", Attempt: 1}
	if sb.Metadata.String() != wantMeta.String() || sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("sandbox %v", sb)
	}
	if !maps.Equal(sb.Labels, x.pod.Labels) || !maps.Equal(sb.Annotations, x.pod.Annotations) {
		t.Errorf("sandbox labels %v annotations %v, want %v %v", sb.Labels, sb.Annotations, x.pod.Labels, x.pod.Annotations)
	}
	if want := createdNanos(t, x.f, x.made.SandboxID); sb.CreatedAt != want {
		t.Errorf("sandbox created %d, want %d", sb.CreatedAt, want)
	}

	ctrs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ctrs.Containers) != 1 || ctrs.Containers[0].Id != x.made.ContainerIDs[0] {
		t.Fatalf("containers %v, want only %s", ctrs.Containers, x.made.ContainerIDs[0])
	}
	c := ctrs.Containers[0]
	pc := x.pod.Containers[0]
	if c.PodSandboxId != x.made.SandboxID || c.Metadata.Name != "web" || c.Metadata.Attempt != 2 ||
		c.State != runtimeapi.ContainerState_CONTAINER_RUNNING || c.Image.GetImage() != "busybox:latest" {
		t.Errorf("container %v", c)
	}
	if !maps.Equal(c.Labels, pc.Labels) || !maps.Equal(c.Annotations, pc.Annotations) {
		t.Errorf("container labels %v annotations %v, want %v %v", c.Labels, c.Annotations, pc.Labels, pc.Annotations)
	}

	st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.LogPath != x.made.LogPaths[0] || st.Status.CreatedAt != createdNanos(t, x.f, c.Id) ||
		st.Status.Metadata.Attempt != 2 || st.Status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("container status %v", st.Status)
	}
	// Its log is Docker's json-file log behind cri-dockerd's symlink:
	// nothing of dockerlet's copies into it or reopens it.
	n.Service.Resume(ctx)
	if _, err := rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: c.Id}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("ReopenContainerLog: %v, want FailedPrecondition", err)
	}
	ps, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.Id[:12]})
	if err != nil {
		t.Fatal(err)
	}
	ns := ps.Status.GetLinux().GetNamespaces().GetOptions()
	if ps.Status.CreatedAt != sb.CreatedAt || ns.GetNetwork() != runtimeapi.NamespaceMode_POD || ns.GetPid() != runtimeapi.NamespaceMode_CONTAINER ||
		len(ps.ContainersStatuses) != 1 {
		t.Errorf("sandbox status %v", ps)
	}

	// Another cri-dockerd's pod is not this node's, not even by id.
	if _, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: x.foreign.ContainerIDs[0]}); err == nil {
		t.Error("another cri-dockerd's container answered status")
	}
	if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: x.foreign.SandboxID}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.f.InspectContainer(ctx, x.foreign.SandboxID); err != nil {
		t.Errorf("another cri-dockerd's sandbox was touched: %v", err)
	}
}

// Without adoption (the default), cri-dockerd's pods are not seen.
func TestCRIDockerdPodsNotAdoptedByDefault(t *testing.T) {
	x := newAdoptFixture(t)
	rt := x.node(t, "").InProcess()
	sbs, err := rt.ListPodSandbox(x.ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(sbs.Items) != 0 {
		t.Fatalf("sandboxes %v, %v; want none", sbs, err)
	}
}

// Reconcile leaves an adopted sandbox alone (it has no checkpoint of
// dockerlet's, which would otherwise make it a half-made one), the
// kubelet can start a new container in it, and stop and remove take the
// pod down: the network torn down with cri-dockerd's CNI cache, the
// containers gone, cri-dockerd's checkpoint gone.
func TestAdoptedPodStopAndRemove(t *testing.T) {
	x := newAdoptFixture(t)
	n := x.node(t, x.root)
	rt := n.InProcess()
	ctx := x.ctx
	n.Service.Reconcile(ctx)
	if _, err := x.f.InspectContainer(ctx, x.made.SandboxID); err != nil {
		t.Fatalf("reconcile removed the adopted sandbox: %v", err)
	}

	// The kubelet restarts the container: a new attempt in the same sandbox.
	created, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: x.made.SandboxID,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "web", Attempt: 3},
			Image:    &runtimeapi.ImageSpec{Image: "busybox:latest"}, Command: []string{"sleep", "3600"},
			LogPath: "web/3.log",
		},
		SandboxConfig: &runtimeapi.PodSandboxConfig{
			Metadata:     &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "uid-web", Attempt: 1},
			LogDirectory: t.TempDir(),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctrs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: x.made.SandboxID}})
	if err != nil || len(ctrs.Containers) != 2 {
		t.Fatalf("containers of the adopted sandbox: %v, %v; want the adopted one and %s", ctrs, err, created.ContainerId)
	}

	if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: x.made.SandboxID}); err != nil {
		t.Fatal(err)
	}
	downs := x.net.tornDown()
	if len(downs) != 1 || downs[0].ID != x.made.SandboxID || downs[0].Name != "web" || downs[0].CNICacheDir != adopt.DefaultCNICacheDir {
		t.Errorf("teardowns %+v, want one of the adopted sandbox with cri-dockerd's CNI cache", downs)
	}
	sbs, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(sbs.Items) != 1 || sbs.Items[0].State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("after stop: %v, %v", sbs, err)
	}
	if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: x.made.SandboxID}); err != nil {
		t.Fatal(err)
	}
	if n := len(x.net.tornDown()); n != 1 {
		t.Errorf("%d teardowns after stop and remove, want 1 (the stop's is remembered)", n)
	}
	for _, id := range append([]string{x.made.SandboxID, created.ContainerId}, x.made.ContainerIDs...) {
		if _, err := x.f.InspectContainer(ctx, id); err == nil {
			t.Errorf("%s still exists", id)
		}
	}
	if _, err := os.Stat(filepath.Join(x.root, "sandbox", x.made.SandboxID)); !os.IsNotExist(err) {
		t.Errorf("cri-dockerd's checkpoint left behind: %v", err)
	}
	if _, err := x.f.InspectContainer(ctx, x.foreign.ContainerIDs[0]); err != nil {
		t.Errorf("another cri-dockerd's container was touched: %v", err)
	}
	if got := strconv.Itoa(n.Adopted.Len()); got != "0" {
		t.Errorf("%s objects still adopted after removal", got)
	}
}

// A checkpoint whose sandbox container is gone (cri-dockerd listed it, not
// ready, until the kubelet removed it) has its network released with
// cri-dockerd's CNI cache and its checkpoint removed at start; a failed
// release keeps the checkpoint for the next start.
func TestAdoptionReleasesCheckpointsWithoutContainer(t *testing.T) {
	x := newAdoptFixture(t)
	gone := strings.Repeat("ab", 32)
	body := `{"version":"v1","name":"gone","namespace":"default","data":{},"checksum":1}`
	path := filepath.Join(x.root, "sandbox", gone)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	x.net.fail = errors.New("plugin failed")
	x.node(t, x.root)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("checkpoint removed although its release failed: %v", err)
	}
	x.net = &recordingNetwork{}
	x.node(t, x.root)
	downs := x.net.tornDown()
	if len(downs) != 1 || downs[0].ID != gone || downs[0].Name != "gone" || downs[0].CNICacheDir != adopt.DefaultCNICacheDir {
		t.Errorf("teardowns %+v, want one of %s with cri-dockerd's CNI cache", downs, gone)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("checkpoint of the released sandbox left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(x.root, "sandbox", x.made.SandboxID)); err != nil {
		t.Errorf("the live sandbox's checkpoint: %v", err)
	}
}
