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
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

const prefix = "dltrob"

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
	lifecycles := testutil.EnvInt(t, "CHAOS_LIFECYCLES", 64)
	kills := testutil.EnvInt(t, "CHAOS_KILLS", 10)
	clients := testutil.EnvInt(t, "CHAOS_CLIENTS", 8)
	seed := int64(testutil.EnvInt(t, "CHAOS_SEED", 1))
	restarts := testutil.EnvInt(t, "CHAOS_DOCKERD_RESTARTS", mode.dockerdRestarts)
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
	t.Cleanup(func() { serveproc.RemoveOwn(eng, srv.Root) })

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
