package main

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/dockerlet/dockerlet/test/bench/result"
)

// printResult writes a compact table of the run (the JSON has all of it).
func printResult(w io.Writer, r *result.Result) {
	fmt.Fprintf(w, "\n== %s (%s), %s mode, load %s -> %s\n", r.Runtime, r.Version, r.Mode, r.LoadAvg[0], r.LoadAvg[1])
	for i, b := range r.Bursts {
		fmt.Fprintf(w, "burst %d: %d pods, %d at a time: all RUNNING %.0f ms (per pod p50 %.0f ms), teardown %.0f ms, cpu-ms/pod %s\n",
			i+1, b.Pods, b.Parallel, b.AllRunning, b.PerPod.P50, b.TeardownAll, fmtMap(b.CPUPerPod))
	}
	if len(r.Points) > 0 {
		fmt.Fprintf(w, "%-22s %6s %9s %9s %9s %9s\n", "call (p50 ms)", "N", "p50", "p90", "p99", "max")
	}
	for _, p := range r.Points {
		if p.Startup != nil {
			s := p.Startup.Steps["PodStartup(total)"]
			fmt.Fprintf(w, "%-22s %6d %9.2f %9.2f %9.2f %9.2f  cpu-ms/pod %s(children %s)\n", "PodStartup(total)", p.Pods, s.P50, s.P90, s.P99, s.Max, fmtMap(p.Startup.CPUPerPod), fmtMap(p.Startup.ChildCPU))
		}
		for _, name := range slices.Sorted(maps.Keys(p.Calls)) {
			s := p.Calls[name]
			if s.Unimpl {
				fmt.Fprintf(w, "%-22s %6d unimplemented\n", name, p.Pods)
				continue
			}
			fmt.Fprintf(w, "%-22s %6d %9.2f %9.2f %9.2f %9.2f\n", name, p.Pods, s.P50, s.P90, s.P99, s.Max)
		}
		for _, win := range []struct {
			name string
			w    *result.Window
		}{{"idle", p.Idle}, {"polled", p.Polled}} {
			if win.w == nil {
				continue
			}
			for _, g := range slices.Sorted(maps.Keys(win.w.Procs)) {
				pw := win.w.Procs[g]
				fmt.Fprintf(w, "  %-7s N=%-4d %-12s cpu %6.2f %%  rss avg %6.1f max %6.1f MiB\n", win.name, p.Pods, g, pw.CPUPct, pw.RSSAvgMiB, pw.RSSMaxMiB)
			}
		}
	}
	for _, t := range r.Teardown {
		s := t.Steps["Teardown(total)"]
		fmt.Fprintf(w, "teardown %d->%d pods: p50 %.1f ms (StopPodSandbox %.1f, RemovePodSandbox %.1f), cpu-ms/pod %s(children %s)\n",
			t.From, t.To, s.P50, t.Steps["StopPodSandbox"].P50, t.Steps["RemovePodSandbox"].P50, fmtMap(t.CPUPerPod), fmtMap(t.ChildCPU))
	}
}

func fmtMap(m map[string]float64) string {
	s := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s += fmt.Sprintf("%s=%.1f ", k, m[k])
	}
	return s
}
