// Package restart restarts dockerd (a private one: the machine's daemon is
// shared) under a running `dockerlet serve` while pods change, and checks
// that the server's answers afterwards are exactly what Docker holds.
package restart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

const prefix = "dlrs"

const loopCmd = "trap 'exit 0' TERM; while :; do sleep 1; done"

// counterCmd writes a numbered line every 0.1 s: its log must come through
// the restart complete, each line once.
const counterCmd = "trap 'exit 0' TERM; i=0; while :; do i=$((i+1)); echo line $i; sleep 0.1; done"

// TestListExactAfterDockerdRestart: pods are created, stopped and
// removed while dockerd restarts; one container dies while dockerd is down
// (killed by PID with live-restore; without it dockerd stops them all).
// Then the first ListPodSandbox / ListContainers and every status equal
// what the daemon itself says.
func TestListExactAfterDockerdRestart(t *testing.T) {
	privdockerd.Require(t)
	reg := testutil.StartRegistry(t)
	busybox := reg.PushBusybox(t, prefix+"/busybox:restart", testutil.ImageOptions{Marker: prefix + "-restart"})
	pause := reg.PushBusybox(t, prefix+"/pause:restart", testutil.ImageOptions{
		Marker: prefix + "-restart-pause", Cmd: []string{"sh", "-c", loopCmd},
	})
	for _, live := range []bool{false, true} {
		t.Run(fmt.Sprintf("live-restore=%v", live), func(t *testing.T) {
			runListExact(t, live, busybox, pause, netMode{})
		})
	}
}

type env struct {
	t       *testing.T
	rt      runtimeapi.RuntimeServiceClient
	eng     engine.Engine
	busybox string
	logDir  string
	run     string
	root    string // the server's root directory (its owner label)

	mu    sync.Mutex
	codes map[codes.Code]int // failed calls by code
}

// netMode is the pod network of a run: Docker's bridge (zero value) or
// the server's extra flags (CNI) and a check made after the comparison.
type netMode struct {
	serveArgs []string
	check     func(ctx context.Context, e *env)
}

func runListExact(t *testing.T, live bool, busybox, pause string, mode netMode) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d, eng, dir := startDaemon(ctx, t, live, busybox, prefix+"-list-")
	srv := serveproc.New(t, serveproc.Options{Dir: dir, PauseImage: pause, Args: append([]string{"--docker-endpoint", d.Host}, mode.serveArgs...)})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	conn, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e := &env{t: t, rt: runtimeapi.NewRuntimeServiceClient(conn), eng: eng, busybox: busybox,
		logDir: filepath.Join(dir, "logs"), root: srv.Root, run: fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e6), codes: map[codes.Code]int{}}

	// Six pods before the restart: 0–3 stay, 4 is stopped and 5 removed
	// during it; pod 0's container is the one that dies during the outage.
	type pod struct{ sb, ctr string }
	pods := make([]pod, 6)
	for i := range pods {
		pods[i].sb, pods[i].ctr = e.runPod(ctx, i)
	}
	// The log check wants 20+ counter lines from before the restart (which
	// without live-restore ends the counter): wait for them rather than
	// rely on how long the other pods took to start.
	counterLog := filepath.Join(e.logDir, fmt.Sprintf("%s-p%d", e.run, 1), "app.log")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, _ := os.ReadFile(counterLog); strings.Count(string(b), "\n") >= 25 {
			break
		}
	}
	victim, err := eng.InspectContainer(ctx, pods[0].ctr)
	if err != nil {
		t.Fatal(err)
	}

	// A kubelet-like poller keeps listing through it all.
	pollCtx, stopPoll := context.WithCancel(ctx)
	var pollWG sync.WaitGroup
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		for pollCtx.Err() == nil {
			_, err1 := e.rt.ListPodSandbox(pollCtx, &runtimeapi.ListPodSandboxRequest{})
			_, err2 := e.rt.ListContainers(pollCtx, &runtimeapi.ListContainersRequest{})
			for _, err := range []error{err1, err2} {
				if err != nil && pollCtx.Err() == nil {
					e.failed(err)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	// Churn during the restart: new pods, a stop, a removal; every call
	// retried through the outage as a kubelet does.
	var wg sync.WaitGroup
	churn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		d.Stop()
	}()
	churn(func() { e.runPod(ctx, 6) })
	churn(func() { e.runPod(ctx, 7) })
	churn(func() {
		e.retry(ctx, "StopPodSandbox", func(cctx context.Context) error {
			_, err := e.rt.StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pods[4].sb})
			return err
		})
	})
	churn(func() {
		e.retry(ctx, "StopPodSandbox", func(cctx context.Context) error {
			_, err := e.rt.StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pods[5].sb})
			return err
		})
		e.retry(ctx, "RemovePodSandbox", func(cctx context.Context) error {
			_, err := e.rt.RemovePodSandbox(cctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pods[5].sb})
			return err
		})
	})
	<-stopped
	if live {
		// The container's process dies while nobody is there to see it.
		if victim.State == nil || victim.State.Pid <= 0 {
			t.Fatalf("victim %s has no pid", pods[0].ctr[:12])
		}
		if err := syscall.Kill(victim.State.Pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill victim pid %d: %v", victim.State.Pid, err)
		}
	}
	time.Sleep(time.Second)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// A second restart right after the first, with pods starting into
	// its shutdown: Docker may start a container while it shuts down
	// and stop it only in the next daemon's life.
	time.Sleep(time.Second)
	churn(func() { e.runPod(ctx, 8) })
	churn(func() { e.runPod(ctx, 9) })
	time.Sleep(300 * time.Millisecond)
	d.Stop()
	time.Sleep(time.Second)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	// The next List is exact.
	e.compare(ctx, "first List after the restart")
	e.checkStats(ctx, live)
	stopPoll()
	pollWG.Wait()
	e.checkLog(ctx, d.Host, pods[1].ctr, filepath.Join(e.logDir, fmt.Sprintf("%s-p%d", e.run, 1), "app.log"))
	in, err := eng.InspectContainer(ctx, pods[0].ctr)
	if err != nil {
		t.Fatal(err)
	}
	if in.State.Running {
		t.Errorf("pod 0's container still runs after the restart (live-restore %v)", live)
	}
	if mode.check != nil {
		mode.check(ctx, e)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t.Logf("failed calls during the restart by code: %v", e.codes)
	if n := e.codes[codes.Unknown] + e.codes[codes.Internal]; n > 0 {
		t.Errorf("%d calls failed with Unknown/Internal while dockerd restarted: %v", n, e.codes)
	}
}

func (e *env) failed(err error) {
	e.mu.Lock()
	e.codes[status.Code(err)]++
	e.mu.Unlock()
}

// retry calls fn until it succeeds or 90 s pass.
func (e *env) retry(ctx context.Context, what string, fn func(context.Context) error) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := fn(cctx)
		cancel()
		if err == nil {
			return
		}
		e.failed(err)
		if time.Now().After(deadline) || ctx.Err() != nil {
			e.t.Errorf("%s: still failing: %v", what, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runPod runs pod n with one container "app"; a sandbox the restart
// stopped before its container started is removed and made again, as a
// kubelet would.
func (e *env) runPod(ctx context.Context, n int) (sb, ctr string) {
	name := fmt.Sprintf("%s-p%d", e.run, n)
	cmd := loopCmd
	if n == 1 {
		cmd = counterCmd
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: prefix, Uid: name + "-uid"},
		LogDirectory: filepath.Join(e.logDir, name),
		Labels:       map[string]string{"run": e.run},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
	}
	for attempt := uint32(0); attempt < 5; attempt++ {
		cfg.Metadata.Attempt = attempt
		dockerFault := false
		e.retry(ctx, "RunPodSandbox "+name, func(cctx context.Context) error {
			r, err := e.rt.RunPodSandbox(cctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
			if status.Code(err) == codes.AlreadyExists {
				return nil // made by an attempt whose answer was lost; found below
			}
			if status.Code(err) == codes.Internal && strings.Contains(err.Error(), "failed to remove root filesystem") {
				// Docker 20.10 left this attempt's container with its
				// overlay mounted twice and cannot remove it (a known gap,
				// docs/robustness.md): it holds the name forever, so a
				// kubelet moves to the next attempt.
				e.t.Logf("pod %s attempt %d: Docker cannot remove its container; next attempt: %v", name, attempt, err)
				dockerFault = true
				return nil
			}
			if err == nil {
				sb = r.PodSandboxId
			}
			return err
		})
		if dockerFault {
			sb = ""
			continue
		}
		if sb == "" {
			if sb = e.findSandbox(ctx, name, attempt); sb == "" {
				return "", ""
			}
		}
		cc := &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Image:    &runtimeapi.ImageSpec{Image: e.busybox},
			Command:  []string{"sh", "-c", cmd},
			LogPath:  "app.log",
		}
		// FailedPrecondition: the restart stopped the sandbox first; a
		// kubelet then makes the pod's next attempt, and so does this.
		ctr = ""
		sandboxStopped := false
		e.retry(ctx, "CreateContainer "+name, func(cctx context.Context) error {
			r, err := e.rt.CreateContainer(cctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cc, SandboxConfig: cfg})
			switch status.Code(err) {
			case codes.AlreadyExists:
				ctr, err = e.findContainer(cctx, sb) // retried if the restart cuts it
				return err
			case codes.FailedPrecondition:
				sandboxStopped = true
				return nil
			case codes.OK:
				ctr = r.ContainerId
			}
			return err
		})
		if ctr == "" && !sandboxStopped {
			return sb, "" // reported above
		}
		started := false
		if ctr != "" {
			e.retry(ctx, "StartContainer "+name, func(cctx context.Context) error {
				_, err := e.rt.StartContainer(cctx, &runtimeapi.StartContainerRequest{ContainerId: ctr})
				if err == nil {
					started = true
					return nil
				}
				if status.Code(err) == codes.FailedPrecondition {
					return nil // its sandbox was stopped
				}
				st, serr := e.rt.ContainerStatus(cctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
				if serr == nil && st.Status.State != runtimeapi.ContainerState_CONTAINER_CREATED {
					started = st.Status.State == runtimeapi.ContainerState_CONTAINER_RUNNING
					return nil // ran already (or was stopped by the restart)
				}
				return err
			})
		}
		ps, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
		if started && err == nil && ps.Status.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			return sb, ctr
		}
		// The restart stopped it: the kubelet way is a new attempt.
		e.retry(ctx, "StopPodSandbox "+name, func(cctx context.Context) error {
			_, err := e.rt.StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb})
			return err
		})
		e.retry(ctx, "RemovePodSandbox "+name, func(cctx context.Context) error {
			_, err := e.rt.RemovePodSandbox(cctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb})
			return err
		})
		sb = ""
	}
	e.t.Errorf("pod %s: no running pod after 5 attempts", name)
	return sb, ctr
}

// findSandbox and findContainer look up what an attempt whose answer
// was lost made; the lookup itself may meet the restart, so it is retried.
func (e *env) findSandbox(ctx context.Context, name string, attempt uint32) string {
	id := ""
	e.retry(ctx, "find sandbox "+name, func(cctx context.Context) error {
		list, err := e.rt.ListPodSandbox(cctx, &runtimeapi.ListPodSandboxRequest{})
		if err != nil {
			return err
		}
		for _, s := range list.Items {
			if s.Metadata.Name == name && s.Metadata.Attempt == attempt {
				id = s.Id
			}
		}
		return nil
	})
	if id == "" { // Errorf: runPod also runs in goroutines of its own
		e.t.Errorf("sandbox %s attempt %d: AlreadyExists but not listed", name, attempt)
	}
	return id
}

func (e *env) findContainer(ctx context.Context, sb string) (string, error) {
	list, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: sb}})
	if err != nil {
		return "", err
	}
	if len(list.Containers) != 1 {
		e.t.Errorf("find container of %s: %d listed", sb[:12], len(list.Containers))
		return "", nil
	}
	return list.Containers[0].Id, nil
}
