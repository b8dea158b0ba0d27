package cri

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/metrics"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// stubStats answers every stats call without touching anything, so that a
// test sees only the engine calls the CRI layer itself makes.
type stubStats struct{}

func (stubStats) ContainerStats(_ context.Context, ref ContainerStatsRef) (*runtimeapi.ContainerStats, error) {
	return &runtimeapi.ContainerStats{Attributes: ref.Attributes}, nil
}

func (stubStats) PodSandboxStats(_ context.Context, ref SandboxStatsRef) (*runtimeapi.PodSandboxStats, error) {
	return &runtimeapi.PodSandboxStats{Attributes: ref.Attributes}, nil
}
func (stubStats) MetricDescriptors() []*runtimeapi.MetricDescriptor { return nil }
func (stubStats) PodSandboxMetrics(context.Context, SandboxStatsRef) (*runtimeapi.PodSandboxMetrics, error) {
	return &runtimeapi.PodSandboxMetrics{}, nil
}
func (stubStats) ImageFsInfo(context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	return &runtimeapi.ImageFsInfoResponse{}, nil
}
func (stubStats) Forget(string) {}

// cachedNode is a Service over the fake engine behind the event-fed cache,
// as serve wires it, with pods pods (a sandbox and one running container
// each).
type cachedNode struct {
	svc       *Service
	fake      *fake.Fake
	cache     *cache.Cache
	metrics   *metrics.Metrics // counts what reaches the engine under cache
	sandboxes []string
	ctrs      []string
}

func newCachedNode(tb testing.TB, pods int) *cachedNode {
	tb.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{DefaultPodInfraImage}})
	f.AddImage(image.InspectResponse{RepoTags: []string{testImage}, RepoDigests: []string{"busybox@sha256:" + fmt.Sprintf("%064d", 1)}})
	svc, c, m := NewTestNode(tb, TestNode{Engine: f, RootDir: tb.TempDir(), Logger: logger, Stats: stubStats{}})
	n := &cachedNode{svc: svc, fake: f, cache: c, metrics: m}
	for i := range pods {
		cfg := &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: fmt.Sprintf("pod-%03d", i), Namespace: "dltperf", Uid: fmt.Sprintf("dltperf-uid-%03d", i)},
			Linux:    &runtimeapi.LinuxPodSandboxConfig{},
		}
		sb, ctr := testutil.RunPod(ctx, tb, svc, cfg, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Image:    &runtimeapi.ImageSpec{Image: "busybox"},
			Command:  []string{"sleep", "3600"},
		})
		n.sandboxes = append(n.sandboxes, sb)
		n.ctrs = append(n.ctrs, ctr)
	}
	// The cache applies the events of the set-up in the background; let
	// it settle so that the calls below see a quiet engine.
	deadline := time.Now().Add(5 * time.Second)
	for prev := -1; time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if cur := len(f.Calls()); cur == prev && c.Synced() {
			break
		} else {
			prev = cur
		}
	}
	return n
}

// The kubelet's polling — PLEG relist, status of what changed, the stats
// cycle and the runtime status — is answered from memory: not one engine
// call ("the relist must not reach Docker at all").
func TestKubeletPollingMakesNoEngineCall(t *testing.T) {
	ctx := context.Background()
	n := newCachedNode(t, 5)
	svc := n.svc
	poll := func() {
		t.Helper()
		must := func(_ any, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}))
		must(svc.ListContainers(ctx, &runtimeapi.ListContainersRequest{}))
		for i := range n.sandboxes {
			must(svc.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: n.sandboxes[i]}))
			must(svc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: n.ctrs[i]}))
			must(svc.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: n.ctrs[i]}))
		}
		must(svc.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{}))
		must(svc.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{}))
		must(svc.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{}))
		must(svc.Status(ctx, &runtimeapi.StatusRequest{}))
	}
	// Another server on the same engine (play, a test, a second serve)
	// runs a pod: this server neither lists it nor pays for its events.
	other, _, _ := NewTestNode(t, TestNode{Engine: n.fake, RootDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Stats: stubStats{}})
	foreign, err := other.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "foreign", Namespace: "dltperf", Uid: "dltperf-foreign"},
		Linux:    &runtimeapi.LinuxPodSandboxConfig{},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sbs, err := svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(sbs.Items) != len(n.sandboxes) {
		t.Fatalf("ListPodSandbox: %d items (want this server's %d), %v", len(sbs.GetItems()), len(n.sandboxes), err)
	}
	for _, it := range sbs.Items {
		if it.Id == foreign.PodSandboxId {
			t.Fatal("another server's sandbox is listed")
		}
	}
	poll() // first round may fill per-image memos
	// This node's own count: the other server's cache works the same
	// engine meanwhile.
	before := n.engineOps(t)
	for range 3 {
		poll()
	}
	if calls := n.engineOps(t).since(before); len(calls) > 0 {
		t.Fatalf("kubelet-like polling reached the engine: %v", calls)
	}
	if n.cache.Synced() {
		if _, err := n.cache.InspectContainer(ctx, foreign.PodSandboxId); err != nil {
			t.Fatal(err)
		}
		if calls := n.engineOps(t).since(before); calls["InspectContainer"] != 1 {
			t.Fatalf("the cache holds another server's sandbox: %v", calls)
		}
	}
}

// Until the cache is synced, Status asks the engine: a daemon that does
// not answer makes the runtime not ready.
func TestStatusAsksTheEngineUntilSynced(t *testing.T) {
	h := newHarness(t)
	h.unsynced()
	h.fake.InjectPersistentError("Version", fmt.Errorf("daemon gone: %w", errdefs.ErrUnavailable))
	resp, err := h.svc.Status(h.ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Status.Conditions {
		if c.Type == runtimeapi.RuntimeReady && (c.Status || c.Reason != "DockerDaemonNotReady") {
			t.Fatalf("RuntimeReady = %v (%s), want false DockerDaemonNotReady", c.Status, c.Reason)
		}
	}
	h.fake.ClearError("Version")
	resp, err = h.svc.Status(h.ctx, &runtimeapi.StatusRequest{})
	if err != nil || !resp.Status.Conditions[0].Status {
		t.Fatalf("after recovery: %v %v", resp, err)
	}
}

// opCounts are engine operations by name.
type opCounts map[string]float64

// engineOps reads the node's count of the operations that reached the
// engine under its cache (dockerlet_docker_operations_total).
func (n *cachedNode) engineOps(tb testing.TB) opCounts {
	tb.Helper()
	mfs, err := n.metrics.Registry().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	out := opCounts{}
	for _, mf := range mfs {
		if mf.GetName() != "dockerlet_docker_operations_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "operation" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// since is what was counted after before.
func (c opCounts) since(before opCounts) opCounts {
	out := opCounts{}
	for op, v := range c {
		if d := v - before[op]; d > 0 {
			out[op] = d
		}
	}
	return out
}
