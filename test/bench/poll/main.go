// Command poll measures what a running CRI server costs under kubelet-like
// polling: for -d it relists every second (ListPodSandbox +
// ListContainers), runs the stats cycle every 10 s (the relist plus
// ListContainerStats and ImageFsInfo) and asks for runtime Status every 5 s,
// as cribench's polling window does, and reports the server's CPU time
// (utime+stime from /proc/PID/stat) and its RSS split into anonymous and
// file-backed pages (/proc/PID/status), sampled every second.
//
// Unlike cribench it creates nothing: point it at a server that already
// runs the pods, so that builds can be compared on the same node.
//
//	go build -o bin/poll ./test/bench/poll
//	bin/poll -endpoint unix:///run/dockerlet.sock -pid $(pidof dockerlet) -d 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	endpoint := flag.String("endpoint", "", "CRI endpoint (unix:///path.sock)")
	pid := flag.Int("pid", 0, "the server's pid")
	dur := flag.Duration("d", 60*time.Second, "polling window")
	idle := flag.Bool("idle", false, "measure without polling (the idle cost)")
	relistEvery := flag.Duration("relist", time.Second, "relist period (shorter: a load test for profiling)")
	statsEvery := flag.Duration("stats", 10*time.Second, "stats cycle period (0: none)")
	statusEvery := flag.Duration("status", 5*time.Second, "runtime Status period (0: none)")
	flag.Parse()
	if *endpoint == "" || *pid == 0 {
		log.Fatal("poll: -endpoint and -pid are required")
	}
	conn, err := grpc.NewClient(*endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	img := runtimeapi.NewImageServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()

	var (
		mu   sync.Mutex
		lat  = map[string][]time.Duration{}
		errs int
	)
	call := func(name string, f func(context.Context) error) {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		err := f(c)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs++
			return
		}
		lat[name] = append(lat[name], time.Since(start))
	}
	relist := func() {
		call("ListPodSandbox", func(c context.Context) error {
			_, err := rt.ListPodSandbox(c, &runtimeapi.ListPodSandboxRequest{})
			return err
		})
		call("ListContainers", func(c context.Context) error {
			_, err := rt.ListContainers(c, &runtimeapi.ListContainersRequest{})
			return err
		})
	}
	loop := func(every time.Duration, f func()) {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	}
	cpu0, t0 := procCPU(*pid), time.Now()
	var wg sync.WaitGroup
	if !*idle {
		wg.Go(func() { loop(*relistEvery, relist) })
		wg.Go(func() {
			if *statsEvery <= 0 {
				return
			}
			loop(*statsEvery, func() {
				relist()
				call("ListContainerStats", func(c context.Context) error {
					_, err := rt.ListContainerStats(c, &runtimeapi.ListContainerStatsRequest{})
					return err
				})
				call("ImageFsInfo", func(c context.Context) error {
					_, err := img.ImageFsInfo(c, &runtimeapi.ImageFsInfoRequest{})
					return err
				})
			})
		})
		wg.Go(func() {
			if *statusEvery <= 0 {
				return
			}
			loop(*statusEvery, func() {
				call("Status", func(c context.Context) error {
					_, err := rt.Status(c, &runtimeapi.StatusRequest{})
					return err
				})
			})
		})
	}
	var rss, anon, file []int
	wg.Go(func() {
		loop(time.Second, func() {
			r, a, f := procRSS(*pid)
			rss, anon, file = append(rss, r), append(anon, a), append(file, f)
		})
	})
	wg.Wait()
	cpu1, secs := procCPU(*pid), time.Since(t0).Seconds()
	cpuS := float64(cpu1-cpu0) / clockTicks
	fmt.Printf("window %.0fs: cpu %.3f s = %.3f %% of a core; errors %d\n", secs, cpuS, 100*cpuS/secs, errs)
	fmt.Printf("rss KiB median/max: total %d/%d anon %d/%d file %d/%d\n",
		median(rss), slices.Max(append(rss, 0)), median(anon), slices.Max(append(anon, 0)), median(file), slices.Max(append(file, 0)))
	names := make([]string, 0, len(lat))
	for n := range lat {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		d := lat[n]
		slices.Sort(d)
		fmt.Printf("%-20s n=%4d p50=%8.3f ms\n", n, len(d), float64(d[len(d)/2].Microseconds())/1000)
	}
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

func procCPU(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	// Fields after the parenthesised command: state is field 3; utime 14, stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

func procRSS(pid int) (rss, anon, file int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch k {
		case "VmRSS":
			rss = n
		case "RssAnon":
			anon = n
		case "RssFile":
			file = n
		}
	}
	return rss, anon, file
}

func median(v []int) int {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
