package cri

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

func (h *harness) sandboxState(sb string) runtimeapi.PodSandboxState {
	h.t.Helper()
	resp, err := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
	if err != nil {
		h.t.Fatalf("PodSandboxStatus: %v", err)
	}
	return resp.Status.State
}

// TestStartInUnjoinableSandboxStopsIt: Docker refuses a start because it
// can no longer share the sandbox's IPC namespace (a live-restored sandbox
// after a dockerd restart). The sandbox, still running, is stopped so that
// it reads NOTREADY (the kubelet makes a new one), and the answer is
// FailedPrecondition, not Internal.
func TestStartInUnjoinableSandboxStopsIt(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("dlcf-ipc")
	ctr := h.createContainer(sb, "app")
	if st := h.sandboxState(sb); st != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("sandbox %v before the start", st)
	}
	h.fake.InjectError("StartContainer", fmt.Errorf(
		"can't join IPC of container %s: non-shareable IPC (hint: use IpcMode:shareable for the donor container): %w", sb, engine.ErrCannotJoin))
	_, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("StartContainer: %v (code %v), want FailedPrecondition", err, code(err))
	}
	if st := h.sandboxState(sb); st != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("sandbox %v after Docker refused to join it, want NOTREADY", st)
	}
}

// TestStartRefusedByPeerNameStopsSandbox: Docker 29 names the network peer
// it cannot join by its container name, not its id; that is still the
// sandbox, which is stopped.
func TestStartRefusedByPeerNameStopsSandbox(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("dlcf-name")
	ctr := h.createContainer(sb, "app")
	in, err := h.fake.InspectContainer(h.ctx, sb)
	if err != nil {
		t.Fatal(err)
	}
	h.fake.InjectError("StartContainer", fmt.Errorf(
		"cannot join network namespace of a non running container: container %s is exited: %w", in.Name[1:], engine.ErrCannotJoin))
	_, err = h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("StartContainer: %v (code %v), want FailedPrecondition", err, code(err))
	}
	if st := h.sandboxState(sb); st != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("sandbox %v after Docker refused to join it by name, want NOTREADY", st)
	}
}

// TestStartInStoppedSandboxStopsItsStaleView: the engine's view (a stale
// cache) still has the sandbox running while Docker has stopped it and
// refuses to join its network. The sandbox is stopped through the engine,
// which corrects the view: it reads NOTREADY.
func TestStartInStoppedSandboxStopsItsStaleView(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("dlcf-net")
	ctr := h.createContainer(sb, "app")
	view := &staleView{Fake: h.fake, id: sb}
	h.svc = h.node(TestNode{Engine: view})
	view.set(true) // the view will still say running
	if err := h.fake.ExitContainer(sb, 0); err != nil {
		t.Fatal(err)
	}
	if st := h.sandboxState(sb); st != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("stale view not in effect: %v", st)
	}
	_, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("StartContainer: %v (code %v), want FailedPrecondition", err, code(err))
	}
	if st := h.sandboxState(sb); st != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("sandbox %v after Docker refused to join it, want NOTREADY", st)
	}
}

// TestRefusedPIDTargetLeavesSandboxAlone: the refused peer is another
// container (a PID namespace target), not the sandbox: FailedPrecondition,
// and the sandbox keeps running.
func TestRefusedPIDTargetLeavesSandboxAlone(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("dlcf-pid")
	ctr := h.createContainer(sb, "app")
	h.fake.InjectError("StartContainer", fmt.Errorf(
		"cannot join PID of a non running container: %s: %w", "0123456789abcdef0123", engine.ErrCannotJoin))
	_, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("StartContainer: %v (code %v), want FailedPrecondition", err, code(err))
	}
	if st := h.sandboxState(sb); st != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("sandbox %v, want READY (not its fault)", st)
	}
}

// staleView answers inspects and lists of one container as running while
// set, as a cache that missed its stop would; a stop of it through this
// engine ends that, as the cache's read-your-writes refresh does.
type staleView struct {
	*fake.Fake
	id    string
	stale atomic.Bool // read by the cache's goroutines
}

func (v *staleView) set(on bool) { v.stale.Store(on) }

func (v *staleView) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	in, err := v.Fake.InspectContainer(ctx, id)
	if err == nil && v.stale.Load() && in.ID == v.id {
		in.State.Running, in.State.Status = true, container.StateRunning
	}
	return in, err
}

func (v *staleView) ListContainers(ctx context.Context, opts engine.ListOptions) ([]container.Summary, error) {
	list, err := v.Fake.ListContainers(ctx, opts)
	for i := range list {
		if v.stale.Load() && list[i].ID == v.id {
			list[i].State = container.StateRunning
		}
	}
	return list, err
}

func (v *staleView) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	err := v.Fake.StopContainer(ctx, id, timeout)
	if id == v.id {
		v.stale.Store(false)
	}
	return err
}
