// Command scale measures what a CRI runtime costs as a node grows and when
// pods arrive together, over its gRPC socket, so that any runtime (dockerlet,
// cri-dockerd) is measured the same way in the same run:
//
//   - a burst: -burst pods started at once by -parallel workers (sandbox +
//     one container each, as the kubelet's pod workers), time until all are
//     RUNNING, then torn down by the same workers;
//   - growth: pods started one at a time up to each of -counts, and at each
//     count the latency of the kubelet's reads (List, Status, stats), an idle
//     window and a window polled like a kubelet, with the CPU and RSS of the
//     process groups named by -pids;
//   - teardown: every pod stopped and removed one at a time.
//
// Start-up and teardown CPU per pod include each group's reaped children
// (CNI plugins and other helpers a runtime runs). Results go to -json for
// the report (test/bench/report); scripts/bench.sh runs it.
//
//	scale -endpoint unix:///run/dockerlet.sock -name dockerlet -image IMAGE \
//	      -pids "dockerlet=PID,docker=DOCKERD+CONTAINERD" -counts 10,50,110 -json out.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/test/bench/result"
)

type config struct {
	endpoint, name, mode, image, logDir string
	counts                              []int
	iters, statsIters                   int
	callBudget, rpcTimeout, settle      time.Duration
	idle, poll                          time.Duration
	relist, statsEvery, statusEvery     time.Duration
	burst, parallel, rounds             int
	growParallel                        int
	metricsURL, jsonOut, docker         string
}

type bench struct {
	cfg    config
	conn   *grpc.ClientConn
	rt     runtimeapi.RuntimeServiceClient
	img    runtimeapi.ImageServiceClient
	groups []procGroup
	runID  string
	pods   []pod
	next   int // the next pod index (names stay unique within the run)
	floor  *dockerFloor
}

func main() {
	var cfg config
	var counts, pids string
	flag.StringVar(&cfg.endpoint, "endpoint", "", "CRI endpoint, unix:///path.sock (required)")
	flag.StringVar(&cfg.name, "name", "runtime", "the runtime's name in the results")
	flag.StringVar(&cfg.mode, "mode", "", "network mode, recorded for the report (docker, cni)")
	flag.StringVar(&cfg.image, "image", "", "workload image, present in the runtime's store (required)")
	flag.StringVar(&counts, "counts", "10,50,110", "pod counts to grow to, ascending (\"\": no growth)")
	flag.IntVar(&cfg.iters, "iters", 200, "samples of each cheap call at each count")
	flag.IntVar(&cfg.statsIters, "stats-iters", 30, "samples of each stats call at each count")
	flag.DurationVar(&cfg.callBudget, "call-budget", 60*time.Second, "most time spent sampling one call at one count")
	flag.DurationVar(&cfg.rpcTimeout, "rpc-timeout", 2*time.Minute, "timeout of one RPC")
	flag.DurationVar(&cfg.settle, "settle", 3*time.Second, "pause after reaching a count, before sampling")
	flag.DurationVar(&cfg.idle, "idle", 30*time.Second, "idle window at each count (0: none)")
	flag.DurationVar(&cfg.poll, "poll", 60*time.Second, "kubelet-like polled window at each count (0: none)")
	flag.DurationVar(&cfg.relist, "relist", time.Second, "polling: relist period")
	flag.DurationVar(&cfg.statsEvery, "stats-period", 10*time.Second, "polling: stats cycle period")
	flag.DurationVar(&cfg.statusEvery, "status-period", 5*time.Second, "polling: runtime Status period")
	flag.IntVar(&cfg.burst, "burst", 0, "pods started at once before the growth (0: no burst)")
	flag.IntVar(&cfg.parallel, "parallel", 5, "workers of the burst")
	flag.IntVar(&cfg.rounds, "rounds", 1, "bursts in a row")
	flag.IntVar(&cfg.growParallel, "grow-parallel", 1, "workers that start (and tear down) the pods of the growth: above 1 reaches big counts sooner on a slow daemon, and the start-up and teardown figures are then those of pods made side by side")
	flag.StringVar(&pids, "pids", "", "process groups to measure, name=pid[+pid...],... (pid or pidfile:PATH)")
	flag.StringVar(&cfg.logDir, "log-dir", "", "parent of the pod log directories (\"\": none)")
	flag.StringVar(&cfg.metricsURL, "metrics", "", "the runtime's Prometheus /metrics URL, for its count of Docker calls (dockerlet)")
	flag.StringVar(&cfg.jsonOut, "json", "", "write the results here as JSON")
	flag.StringVar(&cfg.docker, "docker", "", "Docker's socket (unix:///var/run/docker.sock): also sample its own list and inspect of the run's containers, the floor of a runtime that asks Docker")
	flag.Parse()
	if cfg.endpoint == "" || cfg.image == "" {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	if cfg.counts, err = parseCounts(counts); err != nil {
		fatal(err)
	}
	b := &bench{cfg: cfg, runID: fmt.Sprintf("%d-%04d", time.Now().Unix(), rand.IntN(10000))}
	if b.groups, err = parseGroups(pids); err != nil {
		fatal(err)
	}
	if cfg.docker != "" {
		if b.floor, err = newDockerFloor(cfg.docker); err != nil {
			fatal(err)
		}
	}
	conn, err := grpc.NewClient(cfg.endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		fatal(err)
	}
	defer conn.Close()
	b.conn, b.rt, b.img = conn, runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res := &result.Result{Runtime: cfg.name, Endpoint: cfg.endpoint, Mode: cfg.mode, Started: time.Now().UTC()}
	res.LoadAvg[0] = loadavg()
	runErr := b.run(ctx, res)
	if len(b.pods) > 0 { // interrupted or failed: remove what is left, unmeasured
		for _, p := range b.pods {
			_, _ = b.teardownPod(p)
		}
	}
	b.removeLogDirs()
	res.Ended = time.Now().UTC()
	res.LoadAvg[1] = loadavg()
	if cfg.jsonOut != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(cfg.jsonOut, data, 0o644); err != nil {
			fatal(err)
		}
	}
	printResult(os.Stdout, res)
	if runErr != nil {
		fatal(runErr)
	}
}

func (b *bench) run(ctx context.Context, res *result.Result) error {
	c, cancel := context.WithTimeout(ctx, b.cfg.rpcTimeout)
	v, err := b.rt.Version(c, &runtimeapi.VersionRequest{})
	cancel()
	if err != nil {
		return fmt.Errorf("version: %w", err)
	}
	res.Version = v.RuntimeName + " " + v.RuntimeVersion
	say("%s (%s) at %s, run %s", b.cfg.name, res.Version, b.cfg.endpoint, b.runID)
	if n := b.cleanupStale(ctx); n > 0 {
		say("removed %d sandboxes of earlier runs", n)
	}
	for r := range b.cfg.rounds * min(b.cfg.burst, 1) {
		say("burst %d/%d: %d pods, %d at a time", r+1, b.cfg.rounds, b.cfg.burst, b.cfg.parallel)
		br, err := b.burst(ctx, b.cfg.burst, b.cfg.parallel)
		res.Bursts = append(res.Bursts, br)
		if err != nil {
			return err
		}
		say("burst: all RUNNING after %.0f ms", br.AllRunning)
	}
	for _, n := range b.cfg.counts {
		pt, err := b.growTo(ctx, n)
		res.Points = append(res.Points, pt)
		if err != nil {
			return err
		}
	}
	if len(b.pods) > 0 {
		segs, err := b.teardownAll()
		res.Teardown = segs
		return err
	}
	return nil
}

// growTo starts pods one at a time until n run, then measures at n.
func (b *bench) growTo(ctx context.Context, n int) (result.Point, error) {
	pt := result.Point{Pods: n}
	if len(b.pods) < n {
		say("starting pods %d..%d", len(b.pods)+1, n)
		lat := make([][]time.Duration, len(startSteps))
		ops0 := dockerOps(b.cfg.metricsURL)
		before := takeSnapshot(b.groups)
		made := n - len(b.pods)
		var errs []error
		var mu sync.Mutex
		b.each(made, func(int) {
			if ctx.Err() != nil {
				return
			}
			mu.Lock()
			i := b.next
			b.next++
			mu.Unlock()
			p, d, err := b.startPod(ctx, i)
			mu.Lock()
			defer mu.Unlock()
			if p.sb != "" {
				b.pods = append(b.pods, p)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("pod %d: %w", i, err))
				return
			}
			for i := range d {
				lat[i] = append(lat[i], d[i])
			}
		})
		if err := ctx.Err(); err != nil {
			return pt, err
		}
		if len(errs) > 0 {
			return pt, errs[0]
		}
		after := takeSnapshot(b.groups)
		pt.Startup = &result.Segment{From: n - made, To: n, Pods: made, Parallel: b.cfg.growParallel, Steps: map[string]*result.Stats{},
			Seconds: after.at.Sub(before.at).Seconds(), DockerOps: opsDelta(ops0, dockerOps(b.cfg.metricsURL), made)}
		pt.Startup.CPUPerPod, pt.Startup.ChildCPU = cpuPerPod(before, after, made)
		for i, name := range startSteps {
			pt.Startup.Steps[name] = result.Summarize(lat[i], 0)
		}
	}
	say("N=%d pods running; sampling calls", n)
	time.Sleep(b.cfg.settle)
	var err error
	if pt.Calls, err = b.measureCalls(ctx); err != nil {
		return pt, err
	}
	if b.cfg.idle > 0 {
		say("idle window %s at N=%d", b.cfg.idle, n)
		pt.Idle = b.window(ctx, b.cfg.idle, false)
	}
	if b.cfg.poll > 0 {
		say("kubelet-like polling %s at N=%d", b.cfg.poll, n)
		pt.Polled = b.window(ctx, b.cfg.poll, true)
	}
	return pt, ctx.Err()
}

// teardownAll stops and removes every pod, one at a time (or by
// -grow-parallel workers), the newest first, in segments between the counts.
func (b *bench) teardownAll() ([]*result.Segment, error) {
	say("tearing down %d pods", len(b.pods))
	var segs []*result.Segment
	var errs []error
	for len(b.pods) > 0 {
		from := len(b.pods)
		to := 0
		for _, c := range b.cfg.counts {
			if c < from {
				to = c
			}
		}
		lat := make([][]time.Duration, len(stopSteps))
		ops0 := dockerOps(b.cfg.metricsURL)
		before := takeSnapshot(b.groups)
		var mu sync.Mutex
		b.each(from-to, func(int) {
			mu.Lock()
			p := b.pods[len(b.pods)-1]
			b.pods = b.pods[:len(b.pods)-1]
			mu.Unlock()
			d, err := b.teardownPod(p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for i := range d {
				lat[i] = append(lat[i], d[i])
			}
		})
		after := takeSnapshot(b.groups)
		n := from - to
		seg := &result.Segment{From: from, To: to, Pods: n, Parallel: b.cfg.growParallel, Steps: map[string]*result.Stats{},
			Seconds: after.at.Sub(before.at).Seconds(), DockerOps: opsDelta(ops0, dockerOps(b.cfg.metricsURL), n)}
		seg.CPUPerPod, seg.ChildCPU = cpuPerPod(before, after, n)
		for i, name := range stopSteps {
			seg.Steps[name] = result.Summarize(lat[i], 0)
		}
		segs = append(segs, seg)
	}
	if len(errs) > 0 {
		return segs, fmt.Errorf("teardown: %d errors, first: %w", len(errs), errs[0])
	}
	return segs, nil
}

// each calls fn(0..n-1) by -grow-parallel workers (one: in order).
func (b *bench) each(n int, fn func(int)) {
	q := make(chan int, n)
	for i := range n {
		q <- i
	}
	close(q)
	var wg sync.WaitGroup
	for range max(b.cfg.growParallel, 1) {
		wg.Go(func() {
			for i := range q {
				fn(i)
			}
		})
	}
	wg.Wait()
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-counts: bad entry %q", f)
		}
		out = append(out, n)
	}
	if !slices.IsSorted(out) {
		return nil, fmt.Errorf("-counts: %q is not ascending", s)
	}
	return out, nil
}

// say prints a progress line with the time (scripts/bench.sh keeps them).
func say(format string, a ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}
