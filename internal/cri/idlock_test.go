package cri

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

func TestIDLocksExclusiveAndShared(t *testing.T) {
	var l idLocks
	ctx := context.Background()
	var in, maxIn atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				unlock, err := l.lock(ctx, lockContainer, "a")
				if err != nil {
					t.Error(err)
					return
				}
				if n := in.Add(1); n > maxIn.Load() {
					maxIn.Store(n)
				}
				in.Add(-1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if maxIn.Load() != 1 {
		t.Errorf("%d holders of one exclusive lock at once", maxIn.Load())
	}

	// Two shared holders at once; a writer waits for both; a reader that
	// comes after the waiting writer queues behind it.
	r1, _ := l.rlock(ctx, lockSandbox, "s")
	r2, _ := l.rlock(ctx, lockSandbox, "s")
	got := make(chan string, 3)
	go func() {
		u, _ := l.lock(ctx, lockSandbox, "s")
		got <- "writer"
		u()
	}()
	waitUntil(t, func() bool { return l.writersWaiting("sandbox/s") == 1 })
	go func() {
		u, _ := l.rlock(ctx, lockSandbox, "s")
		got <- "late reader"
		u()
	}()
	select {
	case g := <-got:
		t.Fatalf("%s went while two readers held the lock", g)
	case <-time.After(20 * time.Millisecond):
	}
	r1()
	r1() // a second unlock is a no-op
	r2()
	if first := <-got; first != "writer" {
		t.Errorf("%s went before the waiting writer", first)
	}
	<-got
	// Other keys are never blocked.
	u, _ := l.lock(ctx, lockSandbox, "s")
	u2, err := l.lock(ctx, lockSandbox, "t")
	if err != nil {
		t.Fatal(err)
	}
	u2()
	u()
	if n := l.size(); n != 0 {
		t.Errorf("%d lock entries left", n)
	}
}

func TestIDLocksWaitEndsWithContext(t *testing.T) {
	var l idLocks
	unlock, _ := l.lock(context.Background(), lockContainer, "a")
	r, _ := l.rlock(context.Background(), lockSandbox, "s")
	for _, exclusive := range []bool{true, false} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		var err error
		if exclusive {
			_, err = l.lock(ctx, lockContainer, "a")
		} else {
			_, err = l.lock(ctx, lockSandbox, "s") // a writer behind a reader
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || code(err) != codes.DeadlineExceeded {
			t.Errorf("exclusive=%v: %v, want DeadlineExceeded", exclusive, err)
		}
	}
	// The writer that gave up no longer holds readers back.
	r2, err := l.rlock(context.Background(), lockSandbox, "s")
	if err != nil {
		t.Fatal(err)
	}
	r2()
	r()
	unlock()
	if n := l.size(); n != 0 {
		t.Errorf("%d lock entries left", n)
	}
}

func (l *idLocks) writersWaiting(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.m[key]; e != nil {
		return e.writers
	}
	return 0
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// overlapEngine holds every mutating engine call on a container for a
// moment and records when two of them on one id were in flight at once
// (what per-id serialisation forbids), and the largest number of calls in
// flight on different ids (what it must keep possible).
type overlapEngine struct {
	engine.Engine
	hold time.Duration

	mu       sync.Mutex
	inFlight map[string]string // id → op
	overlaps []string
	total    int
	maxTotal int
	// barrier, when set, makes StopContainer wait until n stops are in
	// flight at once (or the deadline passes).
	barrier int
}

func newOverlapEngine(e engine.Engine) *overlapEngine {
	return &overlapEngine{Engine: e, hold: 2 * time.Millisecond, inFlight: map[string]string{}}
}

func (o *overlapEngine) enter(op, id string) func() {
	o.mu.Lock()
	if prev, ok := o.inFlight[id]; ok && id != "" {
		o.overlaps = append(o.overlaps, fmt.Sprintf("%s while %s on %.12s", op, prev, id))
	}
	o.inFlight[id] = op
	o.total++
	o.maxTotal = max(o.maxTotal, o.total)
	o.mu.Unlock()
	time.Sleep(o.hold)
	return func() {
		o.mu.Lock()
		delete(o.inFlight, id)
		o.total--
		o.mu.Unlock()
	}
}

func (o *overlapEngine) StartContainer(ctx context.Context, id string) error {
	defer o.enter("start", id)()
	return o.Engine.StartContainer(ctx, id)
}

func (o *overlapEngine) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	defer o.enter("stop", id)()
	o.mu.Lock()
	n := o.barrier
	o.mu.Unlock()
	if n > 0 {
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			o.mu.Lock()
			reached := o.total >= n
			o.mu.Unlock()
			if reached {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	return o.Engine.StopContainer(ctx, id, grace)
}

func (o *overlapEngine) RemoveContainer(ctx context.Context, id string, opts engine.RemoveOptions) error {
	defer o.enter("remove", id)()
	return o.Engine.RemoveContainer(ctx, id, opts)
}

func (o *overlapEngine) UpdateContainerResources(ctx context.Context, id string, r container.Resources) error {
	defer o.enter("update", id)()
	return o.Engine.UpdateContainerResources(ctx, id, r)
}

// CreateContainer is held (not tracked: there is no id yet) to widen the
// window between a sandbox's resolution and its container's creation.
func (o *overlapEngine) CreateContainer(ctx context.Context, spec engine.CreateSpec) (string, error) {
	time.Sleep(o.hold)
	return o.Engine.CreateContainer(ctx, spec)
}

func (o *overlapEngine) result() (overlaps []string, maxTotal int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.overlaps...), o.maxTotal
}

func newOverlapHarness(t *testing.T) (*harness, *overlapEngine) {
	h := newHarness(t)
	oe := newOverlapEngine(h.fake)
	h.svc = h.node(TestNode{Engine: oe})
	return h, oe
}

// Many clients running one pod attempt at once get one sandbox: one call
// makes it, the others see AlreadyExists; none removes another's sandbox
// half-made.
func TestConcurrentRunPodSandboxOneAttempt(t *testing.T) {
	h, _ := newOverlapHarness(t)
	h.fake.SetDelay("StartContainer", 5*time.Millisecond)
	const clients = 16
	ids := make([]string, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("race")})
			ids[i], errs[i] = resp.GetPodSandboxId(), err
		}()
	}
	wg.Wait()
	var made []string
	for i, err := range errs {
		switch code(err) {
		case codes.OK:
			made = append(made, ids[i])
		case codes.AlreadyExists:
		default:
			t.Errorf("client %d: %v (%v)", i, code(err), err)
		}
	}
	if len(made) != 1 {
		t.Fatalf("%d calls made a sandbox, want 1: %v", len(made), made)
	}
	list, _ := h.fake.ListContainers(h.ctx, engine.ListOptions{All: true})
	if len(list) != 1 || list[0].ID != made[0] || list[0].State != container.StateRunning {
		t.Errorf("engine holds %d containers, want the one running sandbox %.12s: %+v", len(list), made[0], list)
	}
	if n := h.svc.locks.size(); n != 0 {
		t.Errorf("%d lock entries left", n)
	}
}

// Start, Stop, Update and Remove on one container from many clients reach
// the engine one at a time, and each answers a sane code.
func TestConcurrentContainerOpsSerialised(t *testing.T) {
	h, oe := newOverlapHarness(t)
	sb := h.runSandbox("ops")
	ids := []string{h.createContainer(sb, "a"), h.createContainer(sb, "b")}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				id := ids[(i+j)%2]
				var err error
				switch (i + j) % 4 {
				case 0:
					_, err = h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id})
				case 1:
					_, err = h.svc.StopContainer(h.ctx, &runtimeapi.StopContainerRequest{ContainerId: id})
				case 2:
					_, err = h.svc.UpdateContainerResources(h.ctx, &runtimeapi.UpdateContainerResourcesRequest{
						ContainerId: id, Linux: &runtimeapi.LinuxContainerResources{CpuShares: 512},
					})
				case 3:
					_, err = h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id[:12]})
				}
				if err != nil {
					t.Errorf("client %d op %d: %v (%v)", i, j, code(err), err)
				}
			}
		}()
	}
	wg.Wait()
	// Then all remove both, by full id and by prefix: idempotent.
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, id := range ids {
				ref := id
				if i%2 == 1 {
					ref = id[:16]
				}
				if _, err := h.svc.RemoveContainer(h.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: ref}); err != nil {
					t.Errorf("client %d remove: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	overlaps, maxTotal := oe.result()
	if len(overlaps) > 0 {
		t.Errorf("%d engine calls overlapped on one id, e.g. %s", len(overlaps), overlaps[0])
	}
	if maxTotal < 2 {
		t.Errorf("calls on two different containers never ran at once (max %d in flight)", maxTotal)
	}
	for _, id := range ids {
		if _, err := h.fake.InspectContainer(h.ctx, id); !errdefs.IsNotFound(err) {
			t.Errorf("container %.12s not removed: %v", id, err)
		}
	}
	if n := h.svc.locks.size(); n != 0 {
		t.Errorf("%d lock entries left", n)
	}
}

// Stops of two containers run at once: one container's lock never holds
// up another's (kubelet stops a pod's containers in parallel, each with its
// grace period).
func TestDifferentIDsStayConcurrent(t *testing.T) {
	h, oe := newOverlapHarness(t)
	sb := h.runSandbox("par")
	a, b := h.createContainer(sb, "a"), h.createContainer(sb, "b")
	for _, id := range []string{a, b} {
		if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
	}
	oe.mu.Lock()
	oe.barrier = 2
	oe.maxTotal = 0
	oe.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range []string{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.svc.StopContainer(h.ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 30}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, maxTotal := oe.result(); maxTotal < 2 {
		t.Errorf("stops of two containers did not run at once (max %d in flight)", maxTotal)
	}
}

// CreateContainer racing RemovePodSandbox of its sandbox: the container is
// either made before the removal (and removed with the pod) or refused; it
// never outlives its sandbox.
func TestCreateContainerVsRemovePodSandbox(t *testing.T) {
	h, oe := newOverlapHarness(t)
	for round := range 20 {
		sb := h.runSandbox(fmt.Sprintf("rm%d", round))
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{
					PodSandboxId: sb, Config: containerConfig(fmt.Sprintf("c%d", i)),
				})
				if c := code(err); c != codes.OK && c != codes.NotFound && c != codes.FailedPrecondition {
					t.Errorf("create: %v (%v)", c, err)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(round%4) * time.Millisecond)
			if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
				t.Errorf("remove: %v", err)
			}
		}()
		wg.Wait()
		list, _ := h.fake.ListContainers(h.ctx, engine.ListOptions{All: true})
		for _, c := range list {
			t.Errorf("round %d: %s %.12s (sandbox %.12s) outlived the removal of its pod", round, c.Labels[naming.LabelType], c.ID, c.Labels[naming.LabelSandboxID])
		}
	}
	if overlaps, _ := oe.result(); len(overlaps) > 0 {
		t.Errorf("%d engine calls overlapped on one id, e.g. %s", len(overlaps), overlaps[0])
	}
	if n := h.svc.locks.size(); n != 0 {
		t.Errorf("%d lock entries left", n)
	}
}

// Stop and Remove of one pod from many clients, with its containers being
// started meanwhile: every call succeeds (both are idempotent), nothing
// is left, and no container is started after its pod stopped.
func TestConcurrentSandboxStopRemove(t *testing.T) {
	h, oe := newOverlapHarness(t)
	sb := h.runSandbox("sr")
	ids := []string{h.createContainer(sb, "a"), h.createContainer(sb, "b")}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch i % 4 {
			case 0:
				_, err = h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb})
			case 1:
				_, err = h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb[:12]})
			default:
				_, err = h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: ids[i%2]})
				if c := code(err); c == codes.NotFound {
					err = nil
				}
			}
			if err != nil {
				t.Errorf("client %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if list, _ := h.fake.ListContainers(h.ctx, engine.ListOptions{All: true}); len(list) != 0 {
		t.Errorf("%d containers left", len(list))
	}
	if overlaps, _ := oe.result(); len(overlaps) > 0 {
		t.Errorf("%d engine calls overlapped on one id, e.g. %s", len(overlaps), overlaps[0])
	}
	if n := h.svc.locks.size(); n != 0 {
		t.Errorf("%d lock entries left", n)
	}
}

// size is the number of live entries: nothing leaks.
func (l *idLocks) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
