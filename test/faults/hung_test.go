package faults

import (
	"context"
	"fmt"
	"sort"
	"sync"
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

// callLog records every call's code and duration by phase.
type callLog struct {
	mu    sync.Mutex
	phase string
	calls map[string][]call
}

type call struct {
	rpc  string
	code codes.Code
	took time.Duration
	err  string
}

func (l *callLog) record(rpc string, start time.Time, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := call{rpc: rpc, code: status.Code(err), took: time.Since(start)}
	if err != nil {
		c.err = err.Error()
	}
	l.calls[l.phase] = append(l.calls[l.phase], c)
}

func (l *callLog) setPhase(p string) {
	l.mu.Lock()
	l.phase = p
	l.mu.Unlock()
}

func (l *callLog) summary(phase string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	by := map[string]int{}
	var slowest time.Duration
	for _, c := range l.calls[phase] {
		by[c.rpc+" "+c.code.String()]++
		slowest = max(slowest, c.took)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fmt.Sprintf("%s: %d calls, slowest %v:", phase, len(l.calls[phase]), slowest.Round(time.Millisecond))
	for _, k := range keys {
		s += fmt.Sprintf(" [%s %d]", k, by[k])
	}
	return s
}

// TestDockerdHung freezes the (private) dockerd under a running server for
// 60 s while a kubelet-like client polls every second and asks for
// changes. Every call must answer within the request timeout (10 s here)
// with OK (what the server knows without Docker), DeadlineExceeded or
// Unavailable — never hang, never Unknown or Internal; the server's
// goroutines and open files must not pile up; and when dockerd continues,
// the server must recover by itself: every call OK again, a new pod runs.
func TestDockerdHung(t *testing.T) {
	privdockerd.Require(t)
	const requestTimeout = 10 * time.Second
	freeze := testutil.EnvDuration(t, "FAULTS_FREEZE", 60*time.Second)
	reg := testutil.StartRegistry(t)
	busybox := reg.PushBusybox(t, prefix+"/busybox:hung", testutil.ImageOptions{Marker: prefix + "-hung"})
	pause := reg.PushBusybox(t, prefix+"/pause:hung", testutil.ImageOptions{Marker: prefix + "-hung-pause", Cmd: []string{"sh", "-c", loopCmd}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	d := privdockerd.Start(t, privdockerd.Options{})
	eng, err := engine.Connect(d.Host, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	for _, img := range []string{busybox, pause} {
		if err := eng.PullImage(ctx, img, engine.PullOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dir := workDir(t, "hung")
	metricsAddr := serveproc.FreeAddr(t)
	srv := serveproc.New(t, serveproc.Options{Dir: dir, PauseImage: pause, Args: []string{
		"--docker-endpoint", d.Host, "--runtime-request-timeout", requestTimeout.String(), "--metrics-bind-addr", metricsAddr,
	}})
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

	var pods []pod
	for i := range 3 {
		p, err := runPod(ctx, rt, fmt.Sprintf("hung-%d", i), busybox, workDir(t, "hung-logs"))
		if err != nil {
			t.Fatal(err)
		}
		pods = append(pods, p)
	}
	g0, fd0, _, err := readGauges(metricsAddr)
	if err != nil {
		t.Fatal(err)
	}

	log := &callLog{phase: "before", calls: map[string][]call{}}
	// The kubelet's deadline is 2 minutes; the server's own request
	// timeout must answer first.
	kubeletCtx := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 2*time.Minute) }
	do := func(rpc string, fn func(context.Context) error) {
		cctx, ccancel := kubeletCtx()
		defer ccancel()
		start := time.Now()
		log.record(rpc, start, fn(cctx))
	}
	pollDone := make(chan struct{})
	var wg sync.WaitGroup
	poll := func() {
		// A kubelet's second: relist, statuses, stats, image fs, runtime status.
		do("ListPodSandbox", func(c context.Context) error {
			_, err := rt.ListPodSandbox(c, &runtimeapi.ListPodSandboxRequest{})
			return err
		})
		do("ListContainers", func(c context.Context) error {
			_, err := rt.ListContainers(c, &runtimeapi.ListContainersRequest{})
			return err
		})
		for _, p := range pods {
			do("PodSandboxStatus", func(c context.Context) error {
				_, err := rt.PodSandboxStatus(c, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.sandbox})
				return err
			})
			do("ContainerStatus", func(c context.Context) error {
				_, err := rt.ContainerStatus(c, &runtimeapi.ContainerStatusRequest{ContainerId: p.container})
				return err
			})
		}
		do("ListContainerStats", func(c context.Context) error {
			_, err := rt.ListContainerStats(c, &runtimeapi.ListContainerStatsRequest{})
			return err
		})
		do("ListPodSandboxStats", func(c context.Context) error {
			_, err := rt.ListPodSandboxStats(c, &runtimeapi.ListPodSandboxStatsRequest{})
			return err
		})
		do("ImageFsInfo", func(c context.Context) error {
			_, err := img.ImageFsInfo(c, &runtimeapi.ImageFsInfoRequest{})
			return err
		})
		do("ListImages", func(c context.Context) error {
			_, err := img.ListImages(c, &runtimeapi.ListImagesRequest{})
			return err
		})
		do("Status", func(c context.Context) error { _, err := rt.Status(c, &runtimeapi.StatusRequest{}); return err })
		do("Version", func(c context.Context) error { _, err := rt.Version(c, &runtimeapi.VersionRequest{}); return err })
	}
	// The poller starts a poll every second, whether or not the last one
	// has answered (as the kubelet's loops, each on its own ticker).
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-pollDone:
				return
			case <-tick.C:
				wg.Add(1)
				go func() { defer wg.Done(); poll() }()
			}
		}
	}()
	time.Sleep(3 * time.Second)

	// The freeze: the poller goes on, and changes are asked for.
	log.setPhase("frozen")
	if err := d.Freeze(); err != nil {
		t.Fatal(err)
	}
	frozenAt := time.Now()
	changes := []struct {
		rpc string
		fn  func(context.Context) error
	}{
		{"RunPodSandbox", func(c context.Context) error {
			_, err := rt.RunPodSandbox(c, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
				Metadata: &runtimeapi.PodSandboxMetadata{Name: prefix + "-hung-new", Namespace: prefix, Uid: prefix + "-hung-new-uid"}}})
			return err
		}},
		{"StopContainer", func(c context.Context) error {
			_, err := rt.StopContainer(c, &runtimeapi.StopContainerRequest{ContainerId: pods[0].container, Timeout: 1})
			return err
		}},
		{"ExecSync", func(c context.Context) error {
			_, err := rt.ExecSync(c, &runtimeapi.ExecSyncRequest{ContainerId: pods[1].container, Cmd: []string{"true"}, Timeout: 2})
			return err
		}},
		{"PullImage", func(c context.Context) error {
			_, err := img.PullImage(c, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: busybox}})
			return err
		}},
		{"ImageStatus", func(c context.Context) error {
			_, err := img.ImageStatus(c, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: busybox}})
			return err
		}},
	}
	var peakG, peakFD float64
	for time.Since(frozenAt) < freeze {
		for _, ch := range changes {
			wg.Add(1)
			go func() { defer wg.Done(); do(ch.rpc, ch.fn) }()
		}
		time.Sleep(5 * time.Second)
		if g, fd, _, err := readGauges(metricsAddr); err == nil {
			peakG, peakFD = max(peakG, g), max(peakFD, fd)
		} else {
			t.Errorf("metrics during the freeze: %v", err)
		}
	}
	gFrozen, fdFrozen, _, _ := readGauges(metricsAddr)
	log.setPhase("thawed")
	if err := d.Thaw(); err != nil {
		t.Fatal(err)
	}
	thawedAt := time.Now()

	// Recovery: within 30 s every poll answers OK again.
	var recovered time.Duration
	for time.Since(thawedAt) < 60*time.Second {
		time.Sleep(time.Second)
		log.mu.Lock()
		calls := log.calls["thawed"]
		log.mu.Unlock()
		bad := 0
		for _, c := range calls[max(0, len(calls)-40):] {
			if c.code != codes.OK && c.code != codes.NotFound {
				bad++
			}
		}
		if len(calls) >= 40 && bad == 0 {
			recovered = time.Since(thawedAt)
			break
		}
	}
	log.setPhase("after")
	time.Sleep(5 * time.Second)
	p, err := runPod(ctx, rt, "hung-after", busybox, workDir(t, "hung-logs"))
	if err != nil {
		t.Errorf("a new pod after dockerd continued: %v", err)
	} else if err := removePod(ctx, rt, p.sandbox); err != nil {
		t.Errorf("removing it: %v", err)
	}
	close(pollDone)
	wg.Wait()
	g1, fd1, _, _ := readGauges(metricsAddr)

	for _, ph := range []string{"before", "frozen", "thawed", "after"} {
		t.Log(log.summary(ph))
	}
	t.Logf("goroutines %v before, peak %v frozen, %v at the end of the freeze, %v after; open files %v, peak %v, %v, %v; recovered %v after the thaw",
		g0, peakG, gFrozen, g1, fd0, peakFD, fdFrozen, fd1, recovered.Round(time.Millisecond))

	limit := requestTimeout + 5*time.Second
	for _, ph := range []string{"frozen", "thawed"} {
		for _, c := range log.calls[ph] {
			if c.took > limit {
				t.Errorf("%s %s took %v (over the request timeout): %s", ph, c.rpc, c.took.Round(time.Millisecond), c.err)
			}
			switch c.code {
			case codes.OK, codes.DeadlineExceeded, codes.Unavailable, codes.NotFound:
			default:
				t.Errorf("%s %s answered %v: %s", ph, c.rpc, c.code, c.err)
			}
		}
	}
	for _, c := range log.calls["before"] {
		if c.code != codes.OK {
			t.Errorf("before the freeze: %s %v: %s", c.rpc, c.code, c.err)
		}
	}
	for _, c := range log.calls["after"] {
		if c.code != codes.OK {
			t.Errorf("after recovery: %s %v: %s", c.rpc, c.code, c.err)
		}
	}
	if recovered == 0 {
		t.Error("calls did not all answer OK within 60 s of dockerd continuing")
	}
	// Nothing piles up: what is in flight is bounded by the request
	// timeout, and it all goes once dockerd answers again.
	if g1 > g0*1.5+20 {
		t.Errorf("goroutines %v after recovery, %v before: they piled up", g1, g0)
	}
	if fd1 > fd0*1.5+20 {
		t.Errorf("open files %v after recovery, %v before", fd1, fd0)
	}
	if peakG > g0*4+200 {
		t.Errorf("goroutines peaked at %v during the freeze (%v before)", peakG, g0)
	}
}

func readGauges(addr string) (goroutines, fds, rss float64, err error) {
	g, err := serveproc.ReadGauges(addr)
	return g.Goroutines, g.OpenFiles, g.RSS, err
}
