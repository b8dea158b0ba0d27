package main

import (
	"context"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/test/bench/result"
)

// window measures the process groups for d: CPU over the whole window,
// RSS sampled every second. Polled, it drives the kubelet's steady load
// meanwhile: the PLEG relist (ListPodSandbox + ListContainers) every
// -relist, the stats cycle (the relist, ListContainerStats, ImageFsInfo)
// every -stats-period, runtime Status every -status-period.
func (b *bench) window(ctx context.Context, d time.Duration, polled bool) *result.Window {
	w := &result.Window{Procs: map[string]result.ProcWindow{}}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu   sync.Mutex
		lat  = map[string][]time.Duration{}
		errs = map[string]int{}
		late = map[string]int{}
		wg   sync.WaitGroup
	)
	call := func(name string, fn func(context.Context) error) {
		c, cancel := context.WithTimeout(context.Background(), b.cfg.rpcTimeout)
		defer cancel()
		t := time.Now()
		err := fn(c)
		el := time.Since(t)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs[name]++
			return
		}
		lat[name] = append(lat[name], el)
	}
	relist := func() {
		call("ListPodSandbox", func(c context.Context) error {
			_, err := b.rt.ListPodSandbox(c, &runtimeapi.ListPodSandboxRequest{})
			return err
		})
		call("ListContainers", func(c context.Context) error {
			_, err := b.rt.ListContainers(c, &runtimeapi.ListContainersRequest{})
			return err
		})
	}
	loops := []struct {
		name   string
		period time.Duration
		fn     func()
	}{
		{"relist", b.cfg.relist, func() {
			t := time.Now()
			relist()
			mu.Lock()
			lat["relist"] = append(lat["relist"], time.Since(t))
			mu.Unlock()
		}},
		{"stats", b.cfg.statsEvery, func() {
			relist()
			call("ListContainerStats", func(c context.Context) error {
				_, err := b.rt.ListContainerStats(c, &runtimeapi.ListContainerStatsRequest{})
				return err
			})
			call("ImageFsInfo", func(c context.Context) error {
				_, err := b.img.ImageFsInfo(c, &runtimeapi.ImageFsInfoRequest{})
				return err
			})
		}},
		{"status", b.cfg.statusEvery, func() {
			call("Status", func(c context.Context) error {
				_, err := b.rt.Status(c, &runtimeapi.StatusRequest{})
				return err
			})
		}},
	}
	ops0 := dockerOps(b.cfg.metricsURL)
	first := takeSnapshot(b.groups)
	if polled {
		for _, l := range loops {
			if l.period <= 0 {
				continue
			}
			wg.Go(func() {
				next := time.Now()
				for {
					l.fn()
					next = next.Add(l.period)
					for time.Now().After(next) { // the body overran its period
						mu.Lock()
						late[l.name]++
						mu.Unlock()
						next = next.Add(l.period)
					}
					select {
					case <-wctx.Done():
						return
					case <-time.After(time.Until(next)):
					}
				}
			})
		}
	}
	sum := map[string]int64{}
	peak := map[string]int64{}
	n := 0
	tick := time.NewTicker(time.Second)
loop:
	for {
		select {
		case <-wctx.Done():
			break loop
		case <-tick.C:
		}
		sn := takeSnapshot(b.groups)
		n++
		for name, s := range sn.s {
			sum[name] += s.rssKiB
			peak[name] = max(peak[name], s.rssKiB)
		}
	}
	tick.Stop()
	last := takeSnapshot(b.groups)
	wg.Wait()
	w.DockerOps = opsDelta(ops0, dockerOps(b.cfg.metricsURL), 1)
	w.Seconds = last.at.Sub(first.at).Seconds()
	for name, s := range last.s {
		pw := result.ProcWindow{CPUPct: 100 * float64(s.cpuTicks-first.s[name].cpuTicks) / clockTicks / w.Seconds}
		if n > 0 {
			pw.RSSAvgMiB = float64(sum[name]) / float64(n) / 1024
			pw.RSSMaxMiB = float64(peak[name]) / 1024
		}
		w.Procs[name] = pw
	}
	if polled {
		w.Calls = map[string]*result.Stats{}
		for name, l := range lat {
			w.Calls[name] = result.Summarize(l, errs[name])
		}
		for name, e := range errs {
			if _, ok := w.Calls[name]; !ok {
				w.Calls[name] = result.Summarize(nil, e)
			}
		}
		if len(late) > 0 {
			w.Overruns = late
		}
	}
	return w
}
