// Package chaos kills `dockerlet serve` with SIGKILL at random moments
// while concurrent clients run pod lifecycles with retries, and checks that
// nothing is lost or left behind.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

const prefix = "dltrob"

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// stats of one run.
type stats struct {
	lifecycles, restartsOfLifecycle, retries, adopted, bumped, gaveUp atomic.Int64
	mu                                                                sync.Mutex
	abandoned                                                         []string // pods whose RunPodSandbox failed and was not retried
	codes                                                             map[codes.Code]int
	outages                                                           []outage // dockerd restarts
	samples                                                           []string // messages of Unknown/Internal failures
	dockerStuckErrs                                                   int
}

// failed counts a failed call by its gRPC code.
func (st *stats) failed(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.codes == nil {
		st.codes = map[codes.Code]int{}
	}
	if dockerOwn(err.Error()) {
		st.dockerStuckErrs++ // Docker's own failure (see dockerStuck), not a code dockerlet chose
		return
	}
	st.codes[status.Code(err)]++
	if c := status.Code(err); c == codes.Unknown || c == codes.Internal {
		if len(st.samples) < 3 {
			st.samples = append(st.samples, err.Error())
		}
	}
}

// TestKill9Chaos: CHAOS_LIFECYCLES (default 64) pod lifecycles by
// CHAOS_CLIENTS (8) clients while the server is killed CHAOS_KILLS (10)
// times; then 0 ghosts, 0 leaked containers, 0 leaked checkpoints.
func TestKill9Chaos(t *testing.T) {
	testutil.RequireDocker(t)
	runChaos(t, chaosMode{name: "docker"})
}

// chaosMode is the pod network under test: extra serve flags and the
// network leak check after the run.
type chaosMode struct {
	name      string
	serveArgs []string
	// leaks reports what the network left behind (veths, reservations,
	// rules); "" is none.
	leaks func(t *testing.T) string
	// dockerdRestarts > 0 runs the chaos on a private dockerd, restarted
	// that many times during the run (CHAOS_DOCKERD_RESTARTS overrides).
	dockerdRestarts int
}

func runChaos(t *testing.T, mode chaosMode) {
	lifecycles := envInt(t, "CHAOS_LIFECYCLES", 64)
	kills := envInt(t, "CHAOS_KILLS", 10)
	clients := envInt(t, "CHAOS_CLIENTS", 8)
	seed := int64(envInt(t, "CHAOS_SEED", 1))
	restarts := envInt(t, "CHAOS_DOCKERD_RESTARTS", mode.dockerdRestarts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	host := testutil.DockerHost()
	var daemon *privdockerd.Daemon
	if restarts > 0 {
		// The shared daemon must not be restarted: a private one.
		privdockerd.Require(t)
		daemon = privdockerd.Start(t, privdockerd.Options{LiveRestore: os.Getenv("CHAOS_LIVE_RESTORE") == "1"})
		host = daemon.Host
		mode.name += fmt.Sprintf(", private dockerd (live-restore %v)", os.Getenv("CHAOS_LIVE_RESTORE") == "1")
		mode.serveArgs = append(append([]string(nil), mode.serveArgs...), "--docker-endpoint", host)
	}
	eng, err := engine.Connect(host, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	reg := testutil.StartRegistry(t)
	busybox := reg.PushBusybox(t, prefix+"/busybox:chaos", testutil.ImageOptions{Marker: prefix + "-chaos"})
	pause := reg.PushBusybox(t, prefix+"/pause:chaos", testutil.ImageOptions{
		Marker: prefix + "-chaos-pause", Cmd: []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
	})
	t.Cleanup(func() {
		for _, ref := range []string{busybox, pause} {
			_, _ = eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
		}
	})
	if err := eng.PullImage(ctx, busybox, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := os.MkdirAll("/tmp/dltrob", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp/dltrob", "chaos-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o750)
	t.Cleanup(func() {
		// CHAOS_SERVE_LOG keeps the server's log of the run.
		if p := os.Getenv("CHAOS_SERVE_LOG"); p != "" {
			if b, err := os.ReadFile(filepath.Join(dir, "serve.log")); err == nil {
				_ = os.WriteFile(p, b, 0o644)
			}
		}
		os.RemoveAll(dir)
	})
	srv := serveproc.New(t, serveproc.Options{Dir: dir, PauseImage: pause, Args: mode.serveArgs, LogLevel: os.Getenv("CHAOS_LOG_LEVEL")})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	t.Cleanup(func() { removeOwn(eng, srv.Root) })

	conn, err := grpc.NewClient("unix://"+srv.Socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{
			BaseDelay: 50 * time.Millisecond, Multiplier: 1.5, MaxDelay: 500 * time.Millisecond,
		}, MinConnectTimeout: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	run := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e6)

	// The killer: SIGKILL at random moments, restart at once or after a
	// short while (clients meet a refused socket, then a reconciling one).
	var st stats
	var killed atomic.Int64
	killerDone := make(chan struct{})
	rnd := rand.New(rand.NewSource(seed))
	var killErr error
	restartsDone, clientsDone := make(chan struct{}), make(chan struct{})
	var restartErr error
	var restarted atomic.Int64
	if daemon == nil {
		close(restartsDone)
	} else {
		go func() {
			defer close(restartsDone)
			restartErr = restartDockerd(ctx, clientsDone, daemon, restarts, lifecycles, seed, &st, &restarted)
		}()
	}
	go func() {
		defer close(killerDone)
		for int(killed.Load()) < kills && ctx.Err() == nil {
			time.Sleep(time.Duration(500+rnd.Intn(2500)) * time.Millisecond)
			srv.Kill()
			killed.Add(1)
			time.Sleep(time.Duration(rnd.Intn(500)) * time.Millisecond)
			if err := srv.Start(ctx); err != nil {
				killErr = err
				return
			}
		}
	}()

	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				killsDone := false
				select {
				case <-killerDone:
					killsDone = true
				default:
				}
				dockerdDone := false
				select {
				case <-restartsDone:
					dockerdDone = true
				default:
				}
				if int(n) > lifecycles && killsDone && dockerdDone {
					return
				}
				if err := lifecycle(ctx, rt, run, int(n), busybox, dir, &st); err != nil {
					errs <- fmt.Errorf("pod %d: %w", n, err)
					return
				}
				st.lifecycles.Add(1)
			}
		}()
	}
	wg.Wait()
	close(clientsDone)
	<-killerDone
	<-restartsDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if killErr != nil {
		t.Fatalf("restart after kill: %v", killErr)
	}
	if restartErr != nil {
		t.Fatalf("dockerd restart: %v", restartErr)
	}

	// One more crash and a clean restart, then nothing may be left.
	srv.Kill()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Abandoned pods: rolled back, or complete and READY (a kubelet's
	// garbage collection then removes them, as here). NOTREADY is a ghost.
	ghosts, collected := 0, 0
	for _, name := range st.abandoned {
		list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
			LabelSelector: map[string]string{"pod": name}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, sb := range list.Items {
			if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY && !st.stoppedByOutage(ctx, eng, sb.Id) {
				ghosts++
				t.Errorf("ghost sandbox of abandoned pod %s: %s %v", name, sb.Id[:12], sb.State)
			}
			if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
				t.Errorf("garbage-collect %s: %v", sb.Id[:12], err)
			}
			collected++
		}
	}
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{"chaos": run}}})
	if err != nil {
		t.Fatal(err)
	}
	stuck := map[string]string{} // Docker cannot remove them (see dockerStuck)
	for _, sb := range list.Items {
		if why := dockerStuck(ctx, eng, sb.Id); why != "" {
			stuck[sb.Id] = why
			continue
		}
		ghosts++
		t.Errorf("leftover sandbox %s %s (%v)", sb.Id[:12], sb.Metadata.Name, sb.State)
	}
	var leaked []containerSummary
	for _, c := range ownContainers(t, eng, srv.Root) {
		if why := dockerStuck(ctx, eng, c.ID); why != "" {
			stuck[c.ID] = why
			continue
		}
		leaked = append(leaked, c)
		t.Errorf("leaked container %s %v (%s)", c.ID[:12], c.Names, c.State)
	}
	for id, why := range stuck {
		msg := fmt.Sprintf("Docker cannot remove container %s: %s", id[:12], why)
		if os.Getenv("CHAOS_DOCKER_STRICT") == "1" {
			t.Error(msg)
		} else {
			t.Logf("known Docker 20.10 gap, not failing (CHAOS_DOCKER_STRICT=1 fails): %s", msg)
		}
	}
	lostTasks := 0
	if daemon != nil {
		lostTasks = len(lostTaskCgroups(ctx, t, eng, daemon))
	}
	ckpts, _ := filepath.Glob(filepath.Join(srv.Root, "sandboxes", "*"))
	for _, p := range ckpts {
		t.Errorf("leaked checkpoint %s", filepath.Base(p))
	}
	netLeaks := ""
	if mode.leaks != nil {
		if netLeaks = mode.leaks(t); netLeaks != "" {
			t.Errorf("network leaks: %s", netLeaks)
		}
	}
	summary := fmt.Sprintf("[%s network] %d lifecycles by %d clients, %d kill -9 (+1 final), %d dockerd restarts (outages %s), failed calls by code %v (+%d passing on Docker's own inconsistencies), %d containers given up after repeated start failures, %d lifecycles restarted, %d call retries, %d objects adopted after AlreadyExists, %d pods abandoned after a failed RunPodSandbox (%d complete ones garbage-collected); %d attempts bumped past a sandbox Docker could not replace; ghosts %d, leaked containers %d, containers Docker cannot remove %d, processes of containerd tasks Docker lost in %d cgroups, leaked checkpoints %d, network leaks: %q",
		mode.name, st.lifecycles.Load(), clients, killed.Load(), restarted.Load(), st.outageSummary(), st.codes, st.dockerStuckErrs, st.gaveUp.Load(), st.restartsOfLifecycle.Load(), st.retries.Load(), st.adopted.Load(),
		len(st.abandoned), collected, st.bumped.Load(), ghosts, len(leaked), len(stuck), lostTasks, len(ckpts), netLeaks)
	t.Log(summary)
	if p := os.Getenv("CHAOS_REPORT"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(f, summary)
			f.Close()
		}
	}
	if int(st.lifecycles.Load()) < lifecycles {
		t.Errorf("only %d of %d lifecycles completed", st.lifecycles.Load(), lifecycles)
	}
	if int(killed.Load()) < kills {
		t.Errorf("only %d of %d kills", killed.Load(), kills)
	}
	if int(restarted.Load()) < restarts {
		t.Errorf("only %d of %d dockerd restarts", restarted.Load(), restarts)
	}
	if n := st.codes[codes.Unknown] + st.codes[codes.Internal]; n > 0 {
		// What the server answered is in its log; a code only the client
		// saw comes from a call cut by a kill -9 (the transport's doing).
		if byServer := serverLoggedCodes(srv.LogPath); byServer > 0 {
			t.Errorf("%d calls failed with Unknown/Internal, %d of them answered so by the server (a daemon outage must be Unavailable): %v; first: %q",
				n, byServer, st.codes, st.samples)
		} else {
			t.Logf("%d calls failed with Unknown/Internal on the client side only (cut by a kill): %q", n, st.samples)
		}
	}
}

// serverLoggedCodes counts the server's Unknown/Internal answers, except
// those that pass on Docker's own inconsistencies (dockerOwn).
func serverLoggedCodes(logPath string) int {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if (strings.Contains(line, "code=Unknown") || strings.Contains(line, "code=Internal")) && !dockerOwn(line) {
			n++
		}
	}
	return n
}

// errRestart asks for the lifecycle to start over: its sandbox is gone
// (rolled back after a crash).
var errRestart = errors.New("sandbox gone; start over")

// lifecycle runs one pod to its end: run, create+start a container, stop,
// remove; every call retried through crashes.
func lifecycle(ctx context.Context, rt runtimeapi.RuntimeServiceClient, run string, n int, image, dir string, st *stats) error {
	name := fmt.Sprintf("%s-p%d", run, n)
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: prefix + "-chaos", Uid: name + "-uid"},
		Hostname:     name,
		LogDirectory: filepath.Join(dir, "logs", name),
		Labels:       map[string]string{"chaos": run, "pod": name},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
	}
	if n%4 == 0 {
		// Like a kubelet whose pod was deleted while RunPodSandbox failed:
		// one try, no retry, no clean-up. What the crash left must be
		// rolled back by the restarted server (or be a complete pod).
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		resp, err := rt.RunPodSandbox(cctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if err != nil {
			st.failed(err)
			st.mu.Lock()
			st.abandoned = append(st.abandoned, name)
			st.mu.Unlock()
			return nil
		}
		return retry(ctx, st, "RemovePodSandbox", func(cctx context.Context) error {
			_, err := rt.RemovePodSandbox(cctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: resp.PodSandboxId})
			return err
		})
	}
	for attempt := 0; attempt < 20; attempt++ {
		err := lifecycleOnce(ctx, rt, cfg, image, st)
		if !errors.Is(err, errRestart) {
			return err
		}
		st.restartsOfLifecycle.Add(1)
	}
	return fmt.Errorf("%s: gave up after 20 restarts", name)
}

func lifecycleOnce(ctx context.Context, rt runtimeapi.RuntimeServiceClient, cfg *runtimeapi.PodSandboxConfig, image string, st *stats) error {
	name := cfg.Metadata.Name
	var sbID string
	failures := 0
	err := retry(ctx, st, "RunPodSandbox", func(cctx context.Context) error {
		resp, err := rt.RunPodSandbox(cctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			// A NOTREADY sandbox of this attempt that the server keeps
			// failing to replace (Docker cannot remove it): a kubelet
			// moves on to the next attempt, whose name is free.
			if failures++; failures >= 3 && notReadyAttempt(cctx, rt, cfg) {
				cfg.Metadata.Attempt++
				st.bumped.Add(1)
				failures = 0
			}
		}
		if status.Code(err) == codes.AlreadyExists {
			// A retry after a crash that followed a complete run.
			id, lerr := findSandbox(cctx, rt, name)
			if lerr != nil || id == "" {
				return fmt.Errorf("AlreadyExists, but no ready sandbox found: %v", lerr)
			}
			st.adopted.Add(1)
			sbID = id
			return nil
		}
		if err != nil {
			return err
		}
		sbID = resp.PodSandboxId
		return nil
	})
	if err != nil {
		return err
	}
	cc := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: image},
		Command:  []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
		LogPath:  "app.log",
		Labels:   map[string]string{"chaos": cfg.Labels["chaos"]},
	}
	var ctrID string
	err = retry(ctx, st, "CreateContainer", func(cctx context.Context) error {
		resp, err := rt.CreateContainer(cctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: cc, SandboxConfig: cfg})
		switch status.Code(err) {
		case codes.OK:
			ctrID = resp.ContainerId
			return nil
		case codes.AlreadyExists:
			list, lerr := rt.ListContainers(cctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: sbID}})
			if lerr != nil {
				return lerr
			}
			for _, c := range list.Containers {
				if c.Metadata.GetName() == "app" {
					st.adopted.Add(1)
					ctrID = c.Id
					return nil
				}
			}
			return err
		case codes.NotFound, codes.FailedPrecondition:
			return permanent{errRestart}
		}
		return err
	})
	if err != nil {
		return err
	}
	startFailures := 0
	err = retry(ctx, st, "StartContainer", func(cctx context.Context) error {
		_, err := rt.StartContainer(cctx, &runtimeapi.StartContainerRequest{ContainerId: ctrID})
		if status.Code(err) == codes.NotFound {
			return permanent{errRestart}
		}
		if err != nil {
			// Started before the crash? Then it runs.
			s, serr := rt.ContainerStatus(cctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctrID})
			if serr == nil && s.Status.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
				return nil
			}
			// A container that keeps failing to start for a reason other
			// than an outage (Docker lost its task, or its sandbox's IPC, in
			// a live-restore): a kubelet never retries a failed start of
			// one instance; here the pod starts over.
			if status.Code(err) != codes.Unavailable {
				startFailures++
			}
			if startFailures >= 5 && serr == nil {
				st.gaveUp.Add(1)
				return permanent{errRestart}
			}
			// Its sandbox stopped (a dockerd restart without live-restore):
			// a kubelet kills the pod and makes a new sandbox.
			ps, perr := rt.PodSandboxStatus(cctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sbID})
			if perr == nil && ps.Status.State == runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
				return permanent{errRestart}
			}
		}
		return err
	})
	if err != nil && !errors.Is(err, errRestart) {
		return err
	}
	restart := errors.Is(err, errRestart)
	// Stop and remove, whatever happened: idempotent.
	if err := retry(ctx, st, "StopPodSandbox", func(cctx context.Context) error {
		_, err := rt.StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sbID})
		return err
	}); err != nil {
		return err
	}
	if err := retry(ctx, st, "RemovePodSandbox", func(cctx context.Context) error {
		_, err := rt.RemovePodSandbox(cctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sbID})
		return err
	}); err != nil {
		return err
	}
	if restart {
		return errRestart
	}
	return nil
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// retry calls fn until it succeeds, fails permanently, or two minutes
// pass; errors of a crashed or restarting server are retried.
func retry(ctx context.Context, st *stats, what string, fn func(context.Context) error) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := fn(cctx)
		cancel()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.err
		}
		last = err
		st.retries.Add(1)
		st.failed(err)
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s: still failing after 2 minutes: %w", what, last)
}

func findSandbox(ctx context.Context, rt runtimeapi.RuntimeServiceClient, name string) (string, error) {
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{"pod": name},
		State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
	}})
	if err != nil {
		return "", err
	}
	if len(list.Items) != 1 {
		return "", fmt.Errorf("%d ready sandboxes named %s", len(list.Items), name)
	}
	return list.Items[0].Id, nil
}

func ownContainers(t *testing.T, eng engine.Engine, root string) []containerSummary {
	t.Helper()
	list, err := eng.ListContainers(context.Background(), engine.ListOptions{All: true, Labels: []string{
		naming.ManagedLabelFilter, naming.LabelPrefix + "root-dir=" + root,
	}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]containerSummary, 0, len(list))
	for _, c := range list {
		out = append(out, containerSummary{ID: c.ID, Names: c.Names, State: string(c.State)})
	}
	return out
}

type containerSummary struct {
	ID    string
	Names []string
	State string
}

func removeOwn(eng engine.Engine, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{naming.LabelPrefix + "root-dir=" + root}})
	if err != nil {
		return
	}
	for _, c := range list {
		_ = eng.RemoveContainer(ctx, c.ID, engine.RemoveOptions{Force: true, RemoveVolumes: true})
	}
}

// dockerOwn reports an error in which dockerlet passes on an inconsistency
// of Docker 20.10 itself after a restart cut an operation short, not an
// outage it failed to classify: a root filesystem it left mounted and
// cannot remove, a containerd task or container it lost track of ("task
// <id>: already exists", "id already in use" on every start of a container
// it thinks was never started), a restored sandbox whose IPC namespace it
// no longer shares. docs/robustness.md has the details.
func dockerOwn(msg string) bool {
	return strings.Contains(msg, "failed to remove root filesystem") ||
		strings.Contains(msg, "Error response from daemon: task ") && strings.Contains(msg, "already exists") ||
		strings.Contains(msg, "Error response from daemon: id already in use") ||
		strings.Contains(msg, "non-shareable IPC")
}
