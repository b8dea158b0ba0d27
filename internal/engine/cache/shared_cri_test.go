package cache_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/node"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// nullStats is a stats collector that reads nothing.
type nullStats struct{}

func (nullStats) ContainerStats(_ context.Context, ref cri.ContainerStatsRef) (*runtimeapi.ContainerStats, error) {
	return &runtimeapi.ContainerStats{Attributes: ref.Attributes}, nil
}
func (nullStats) PodSandboxStats(_ context.Context, ref cri.SandboxStatsRef) (*runtimeapi.PodSandboxStats, error) {
	return &runtimeapi.PodSandboxStats{Attributes: ref.Attributes}, nil
}
func (nullStats) MetricDescriptors() []*runtimeapi.MetricDescriptor { return nil }
func (nullStats) PodSandboxMetrics(context.Context, cri.SandboxStatsRef) (*runtimeapi.PodSandboxMetrics, error) {
	return &runtimeapi.PodSandboxMetrics{}, nil
}
func (nullStats) ImageFsInfo(context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	return &runtimeapi.ImageFsInfoResponse{}, nil
}
func (nullStats) Forget(string) {}

// TestSharedStaysUnmodified runs the CRI RPCs that read the cache's shared
// snapshots (cache.Shared, InspectShared) — concurrently, and while
// containers change — and checks that no snapshot, record or derived item
// was modified. Under the race detector a write to shared memory during
// the concurrent calls fails the test as well.
func TestSharedStaysUnmodified(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{cri.DefaultPodInfraImage}})
	f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	root := t.TempDir()
	n, err := node.New(ctx, node.Options{Engine: f, RootDir: root, Logger: logger, Stats: nullStats{}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	c, svc := n.Engine, n.Service
	var sandboxes, containers []string
	runPod := func(i int) {
		cfg := &runtimeapi.PodSandboxConfig{
			Metadata:    &runtimeapi.PodSandboxMetadata{Name: fmt.Sprintf("pod-%d", i), Namespace: "ns", Uid: fmt.Sprintf("uid-%d", i)},
			Labels:      map[string]string{"app": "web", "i": fmt.Sprint(i)},
			Annotations: map[string]string{"note": "x"},
			Linux:       &runtimeapi.LinuxPodSandboxConfig{},
		}
		sb, ctr := testutil.RunPod(ctx, t, svc, cfg, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, Image: &runtimeapi.ImageSpec{Image: "busybox"},
			Labels: map[string]string{"tier": "a"}, Annotations: map[string]string{"k": "v"},
		})
		sandboxes, containers = append(sandboxes, sb), append(containers, ctr)
	}
	for i := range 6 {
		runPod(i)
	}
	sbIDs, ctrIDs := slices.Clone(sandboxes), slices.Clone(containers) // runPod appends to the originals
	ready := runtimeapi.PodSandboxState_SANDBOX_READY
	running := runtimeapi.ContainerState_CONTAINER_RUNNING
	reads := func() []proto.Message {
		var out []proto.Message
		add := func(m proto.Message, err error) {
			if err != nil {
				t.Error(err)
				return
			}
			out = append(out, m)
		}
		add(svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}))
		add(svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
			State: &runtimeapi.PodSandboxStateValue{State: ready}, LabelSelector: map[string]string{"app": "web"}}}))
		add(svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{Id: sbIDs[0][:13]}}))
		add(svc.ListContainers(ctx, &runtimeapi.ListContainersRequest{}))
		add(svc.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
			State: &runtimeapi.ContainerStateValue{State: running}, PodSandboxId: sbIDs[1], LabelSelector: map[string]string{"tier": "a"}}}))
		add(svc.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: ctrIDs[2]}}))
		add(svc.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{}))
		add(svc.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{}))
		add(svc.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: sbIDs[2]}))
		add(svc.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{}))
		add(svc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctrIDs[0]}))
		add(svc.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sbIDs[0]}))
		add(svc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctrIDs[1][:12], Verbose: true}))
		add(svc.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sbIDs[1][:12], Verbose: true}))
		return out
	}
	// Let the pods' last events be applied: they replace snapshots.
	for stable := 0; stable < 3; time.Sleep(30 * time.Millisecond) {
		a, _ := cache.SharedRecords(c)
		time.Sleep(30 * time.Millisecond)
		b, _ := cache.SharedRecords(c)
		stable++
		for id, r := range a {
			if b[id].Shared != r.Shared {
				stable = 0
			}
		}
	}
	first := reads() // derives and attaches the CRI items
	var items []proto.Message
	for _, m := range first {
		items = append(items, proto.Clone(m))
	}
	live, before := cache.SharedRecords(c)
	nDerived := 0
	for _, r := range live {
		if r.Shared.Derived() != nil {
			nDerived++
		}
	}
	if nDerived == 0 {
		t.Error("nothing derived from the listed snapshots: the test no longer covers derived items")
	}

	// Concurrent readers while more pods start.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				for _, m := range reads() {
					_ = proto.Size(m) // what gRPC does with a response
				}
			}
		})
	}
	wg.Go(func() {
		for i := 6; i < 10; i++ {
			runPod(i)
		}
	})
	wg.Wait()

	// A snapshot the cache has replaced meanwhile (a late event's
	// inspect) was read all the same: it must be unmodified too.
	for id, r := range live {
		got := [2]any{*r.Shared.Summary, *r.Inspect}
		if !reflect.DeepEqual(got, before[id]) {
			t.Errorf("%s: a shared record was modified by a reader", id[:12])
		}
	}
	// The same server over a cache of its own, synced now, derives every
	// item afresh.
	p, err := node.New(ctx, node.Options{Engine: f, RootDir: root, Logger: logger, Stats: nullStats{}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	plain := p.Service
	fresh := map[string]proto.Message{}
	sbs, err := plain.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sbs.Items {
		fresh[it.Id] = it
	}
	cs, err := plain.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range cs.Containers {
		fresh[it.Id] = it
	}
	// The cached server's items are the derived ones: they must equal a
	// fresh derivation.
	csb, err := svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := svc.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var derived []proto.Message
	for _, it := range csb.Items {
		derived = append(derived, it)
	}
	for _, it := range cc.Containers {
		derived = append(derived, it)
	}
	if len(derived) != len(fresh) {
		t.Errorf("cached server lists %d objects, the engine %d", len(derived), len(fresh))
	}
	for _, m := range derived {
		id := m.(interface{ GetId() string }).GetId()
		if !proto.Equal(m, fresh[id]) {
			t.Errorf("%s: derived item differs from a fresh derivation: %v", id[:12], m)
		}
	}
	for i, m := range first {
		if !proto.Equal(m, items[i]) {
			t.Errorf("response %d changed after it was returned: %v", i, m)
		}
	}
}
