// Package soak runs `dockerlet serve` (the real binary, real dockerd, CNI
// networking) for a long while the way a node uses it: 110 pods, a
// kubelet-like poll every second (relist, every status, stats) and churn
// (a pod replaced every few seconds). After the run the server must hold
// what it held after warm-up — RSS, open files and goroutines within 10 %
// — have answered nothing but OK and the expected NotFound, and leave no
// container, checkpoint, CNI allocation or log copier behind.
//
// SOAK_DURATION (unset: the test skips; `make soak` sets 60m, CI a few
// minutes), SOAK_PODS (110), SOAK_CHURN (5s between replacements),
// SOAK_REPORT (a file for the figures).
package soak

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

const prefix = "dlsk"

// idleCmd waits without waking up (no process forked every second by 220
// containers) and ends on SIGTERM.
const idleCmd = "trap 'exit 0' TERM; echo started; sleep 1000000 & wait"

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

// tally counts answers by RPC and code, and keeps the poll latencies.
type tally struct {
	mu      sync.Mutex
	byCode  map[string]int
	bad     []string
	polls   []time.Duration
	churned int
}

func (t *tally) add(rpc string, err error, notFoundOK bool) {
	code := status.Code(err)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byCode[rpc+" "+code.String()]++
	if code != codes.OK && !(code == codes.NotFound && notFoundOK) && len(t.bad) < 50 {
		t.bad = append(t.bad, fmt.Sprintf("%s %s: %v", time.Now().Format(time.TimeOnly), rpc, err))
	}
}

func (t *tally) percentile(p float64) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.polls) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), t.polls...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

type soakPod struct {
	n         int
	cfg       *runtimeapi.PodSandboxConfig
	sandbox   string
	container string
}

type soak struct {
	t       *testing.T
	ctx     context.Context
	rt      runtimeapi.RuntimeServiceClient
	busybox string
	logRoot string
	tally   *tally

	mu   sync.Mutex
	pods []*soakPod
	next int
}

func (s *soak) call(rpc string, notFoundOK bool, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Minute) // the kubelet's deadline
	defer cancel()
	err := fn(ctx)
	s.tally.add(rpc, err, notFoundOK)
	return err
}

// runPod runs pod number n: a sandbox and one idle container.
func (s *soak) runPod() (*soakPod, error) {
	s.mu.Lock()
	n := s.next
	s.next++
	s.mu.Unlock()
	name := fmt.Sprintf("%s-p%d", prefix, n)
	p := &soakPod{n: n, cfg: &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: prefix, Uid: name + "-uid"},
		Hostname:     name,
		LogDirectory: filepath.Join(s.logRoot, name),
		Labels:       map[string]string{"soak": prefix},
	}}
	err := s.call("RunPodSandbox", false, func(ctx context.Context) error {
		r, err := s.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: p.cfg})
		if err == nil {
			p.sandbox = r.PodSandboxId
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	err = s.call("CreateContainer", false, func(ctx context.Context) error {
		r, err := s.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: p.sandbox, SandboxConfig: p.cfg, Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, Image: &runtimeapi.ImageSpec{Image: s.busybox},
			Command: []string{"sh", "-c", idleCmd}, LogPath: "app/0.log", Labels: map[string]string{"soak": prefix},
		}})
		if err == nil {
			p.container = r.ContainerId
		}
		return err
	})
	if err != nil {
		return p, err
	}
	err = s.call("StartContainer", false, func(ctx context.Context) error {
		_, err := s.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: p.container})
		return err
	})
	return p, err
}

// removePod takes a pod down as the kubelet does: stop the container with
// its grace period, remove it, stop and remove the sandbox.
func (s *soak) removePod(p *soakPod) {
	if p.container != "" {
		_ = s.call("StopContainer", false, func(ctx context.Context) error {
			_, err := s.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: p.container, Timeout: 10})
			return err
		})
		_ = s.call("RemoveContainer", false, func(ctx context.Context) error {
			_, err := s.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: p.container})
			return err
		})
	}
	_ = s.call("StopPodSandbox", false, func(ctx context.Context) error {
		_, err := s.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.sandbox})
		return err
	})
	_ = s.call("RemovePodSandbox", false, func(ctx context.Context) error {
		_, err := s.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.sandbox})
		return err
	})
	_ = os.RemoveAll(p.cfg.LogDirectory)
}

// poll is one second of a kubelet: relist, the status of every pod and
// container it knows, and the stats.
func (s *soak) poll() {
	start := time.Now()
	var sandboxes []string
	var ctrs []string
	_ = s.call("ListPodSandbox", false, func(ctx context.Context) error {
		r, err := s.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		for _, sb := range r.GetItems() {
			sandboxes = append(sandboxes, sb.Id)
		}
		return err
	})
	_ = s.call("ListContainers", false, func(ctx context.Context) error {
		r, err := s.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
		for _, c := range r.GetContainers() {
			ctrs = append(ctrs, c.Id)
		}
		return err
	})
	// A pod the churn removed since the relist is NotFound: expected.
	for _, id := range sandboxes {
		_ = s.call("PodSandboxStatus", true, func(ctx context.Context) error {
			_, err := s.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
			return err
		})
	}
	for _, id := range ctrs {
		_ = s.call("ContainerStatus", true, func(ctx context.Context) error {
			_, err := s.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
			return err
		})
	}
	_ = s.call("ListContainerStats", false, func(ctx context.Context) error {
		_, err := s.rt.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
		return err
	})
	_ = s.call("ListPodSandboxStats", false, func(ctx context.Context) error {
		_, err := s.rt.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{})
		return err
	})
	s.tally.mu.Lock()
	s.tally.polls = append(s.tally.polls, time.Since(start))
	s.tally.mu.Unlock()
}

// quiet stops the poller and churn for a moment and measures the server
// at rest (the figures compared are taken the same way).
func settle(t *testing.T, addr string) serveproc.Gauges {
	t.Helper()
	time.Sleep(15 * time.Second)
	// Three readings; the smallest of each (a reading catches the server
	// mid-GC or mid-call now and then).
	var best serveproc.Gauges
	for i := range 3 {
		g, err := serveproc.ReadGauges(addr)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 || g.RSS < best.RSS {
			best.RSS = g.RSS
		}
		if i == 0 || g.OpenFiles < best.OpenFiles {
			best.OpenFiles = g.OpenFiles
		}
		if i == 0 || g.Goroutines < best.Goroutines {
			best.Goroutines = g.Goroutines
		}
		time.Sleep(2 * time.Second)
	}
	return best
}

func TestSoak(t *testing.T) {
	duration := envDuration(t, "SOAK_DURATION", 0)
	if duration <= 0 {
		t.Skip("SOAK_DURATION unset (make soak runs 60 minutes)")
	}
	pods := envInt(t, "SOAK_PODS", 110)
	churnEvery := envDuration(t, "SOAK_CHURN", 5*time.Second)
	testutil.RequireDocker(t)
	testutil.RequireCNI(t, "bridge", "host-local")
	// The run, its warm-up, and starting and removing the pods: on a busy
	// host the last two took 13 min each at 110 pods.
	ctx, cancel := context.WithTimeout(context.Background(), duration+duration/10+45*time.Minute)
	defer cancel()

	reg := testutil.StartRegistry(t)
	busybox := reg.PushBusybox(t, prefix+"/busybox:soak", testutil.ImageOptions{Marker: prefix + "-soak"})
	pause := reg.PushBusybox(t, prefix+"/pause:soak", testutil.ImageOptions{Marker: prefix + "-soak-pause", Cmd: []string{"sh", "-c", idleCmd}})
	eng, err := engine.Connect(testutil.DockerHost(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	t.Cleanup(func() {
		for _, ref := range []string{busybox, pause} {
			_, _ = eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
		}
	})
	cni := testutil.NewCNINet(t, testutil.CNINetOptions{Prefix: prefix, IPMasq: true})
	dir, err := os.MkdirTemp("", prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o750)
	t.Cleanup(func() { os.RemoveAll(dir) })
	metricsAddr := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	srv := serveproc.New(t, serveproc.Options{Dir: dir, PauseImage: pause, Args: append(cni.ServeArgs(), "--metrics-bind-addr", metricsAddr)})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	t.Cleanup(func() { serveproc.RemoveOwn(eng, srv.Root) })
	conn, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rt, img := runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
	if _, err := img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: busybox}}); err != nil {
		t.Fatal(err)
	}
	s := &soak{t: t, ctx: ctx, rt: rt, busybox: busybox, logRoot: filepath.Join(dir, "logs"), tally: &tally{byCode: map[string]int{}}}
	idle := settle(t, metricsAddr)

	// Start the pods, four at a time.
	began := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for range pods {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, err := s.runPod()
			if err != nil {
				t.Errorf("start pod: %v", err)
			}
			if p != nil {
				s.mu.Lock()
				s.pods = append(s.pods, p)
				s.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d pods running in %v", pods, time.Since(began).Round(time.Second))

	// The kubelet's second and the churn, until stop closes.
	run := func(stop <-chan struct{}, churn bool) {
		var loops sync.WaitGroup
		loops.Add(1)
		go func() {
			defer loops.Done()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					s.poll()
				}
			}
		}()
		if churn {
			loops.Add(1)
			go func() {
				defer loops.Done()
				tick := time.NewTicker(churnEvery)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						s.mu.Lock()
						old := s.pods[0]
						s.pods = s.pods[1:]
						s.mu.Unlock()
						s.removePod(old)
						p, err := s.runPod()
						if p != nil {
							s.mu.Lock()
							s.pods = append(s.pods, p)
							s.mu.Unlock()
						}
						if err != nil {
							t.Errorf("churn: %v", err)
						}
						s.tally.mu.Lock()
						s.tally.churned++
						s.tally.mu.Unlock()
					}
				}
			}()
		}
		loops.Wait()
	}
	phase := func(d time.Duration, churn bool) {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { run(stop, churn); close(done) }()
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		close(stop)
		<-done
	}

	// Warm-up: a tenth of the run (at least a minute) with everything on,
	// so that caches, pools and the heap reach their working size.
	warm := max(duration/10, time.Minute)
	phase(warm, true)
	base := settle(t, metricsAddr)
	t.Logf("after warm-up (%v): %v", warm, base)
	phase(duration, true)
	end := settle(t, metricsAddr)
	t.Logf("after the run (%v): %v", duration, end)

	// Everything goes.
	s.mu.Lock()
	left := s.pods
	s.pods = nil
	s.mu.Unlock()
	// Side by side, as they were started: one after the other, 110
	// removals took longer than the run on a busy host (~30 s each).
	for _, p := range left {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.removePod(p)
		}()
	}
	wg.Wait()
	gone := settle(t, metricsAddr)

	report := s.report(pods, duration, churnEvery, idle, base, end, gone)
	t.Log("\n" + report)
	if path := os.Getenv("SOAK_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
	within := func(what string, got, want float64) {
		if got > want*1.10 {
			t.Errorf("%s after the run %.1f, after warm-up %.1f: more than 10 %% up", what, got, want)
		}
	}
	within("RSS (MiB)", end.RSS/(1<<20), base.RSS/(1<<20))
	within("open files", end.OpenFiles, base.OpenFiles)
	within("goroutines", end.Goroutines, base.Goroutines)
	for _, b := range s.tally.bad {
		t.Errorf("unexpected answer: %s", b)
	}
	// Nothing left: containers, checkpoints, CNI, log copiers.
	if list, err := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{naming.LabelPrefix + "root-dir=" + srv.Root}}); err != nil || len(list) != 0 {
		t.Errorf("%d containers of the server left (%v)", len(list), err)
	}
	if cps, _ := filepath.Glob(filepath.Join(srv.Root, "sandboxes", "*")); len(cps) != 0 {
		t.Errorf("%d checkpoints left: %v", len(cps), cps)
	}
	if r := cni.Reservations(t); len(r) != 0 {
		t.Errorf("IPAM reservations left: %v", r)
	}
	if p := cni.BridgePorts(t); len(p) != 0 {
		t.Errorf("veths left on the bridge: %v", p)
	}
	if pins, _ := filepath.Glob(filepath.Join(cni.NetNSDir, "*")); len(pins) != 0 {
		t.Errorf("netns pins left: %v", pins)
	}
	// Every pod's copier and connection gone: back to the idle server's
	// goroutines and files (a little slack for the gRPC connection and
	// the event stream's reconnects).
	if gone.Goroutines > idle.Goroutines+10 {
		t.Errorf("goroutines with no pod: %.0f, before any pod %.0f: copiers or sessions left", gone.Goroutines, idle.Goroutines)
	}
	if gone.OpenFiles > idle.OpenFiles+10 {
		t.Errorf("open files with no pod: %.0f, before any pod %.0f", gone.OpenFiles, idle.OpenFiles)
	}
}

func (s *soak) report(pods int, duration, churn time.Duration, idle, base, end, gone serveproc.Gauges) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d pods, poll every 1 s (relist + every status + stats), a pod replaced every %v, %v (after warm-up); %d pods replaced\n\n",
		pods, churn, duration, s.tally.churned)
	fmt.Fprintf(&b, "| when | RSS (MiB) | open files | goroutines |\n|---|---|---|---|\n")
	for _, r := range []struct {
		name string
		g    serveproc.Gauges
	}{{"no pods yet", idle}, {"after warm-up", base}, {"after the run", end}, {"all pods removed", gone}} {
		fmt.Fprintf(&b, "| %s | %.1f | %.0f | %.0f |\n", r.name, r.g.RSS/(1<<20), r.g.OpenFiles, r.g.Goroutines)
	}
	fmt.Fprintf(&b, "\npoll (one second's calls): p50 %v, p99 %v, max %v\n\n", s.tally.percentile(0.5).Round(time.Millisecond),
		s.tally.percentile(0.99).Round(time.Millisecond), s.tally.percentile(1).Round(time.Millisecond))
	keys := make([]string, 0, len(s.tally.byCode))
	for k := range s.tally.byCode {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("| call | code | count |\n|---|---|---|\n")
	for _, k := range keys {
		rpc, code, _ := strings.Cut(k, " ")
		fmt.Fprintf(&b, "| %s | %s | %d |\n", rpc, code, s.tally.byCode[k])
	}
	fmt.Fprintf(&b, "\nunexpected answers: %d\n", len(s.tally.bad))
	return b.String()
}
