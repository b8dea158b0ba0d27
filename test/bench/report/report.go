package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/dockerlet/dockerlet/test/bench/result"
)

func f(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.Abs(v) < 1:
		return fmt.Sprintf("%.2f", v)
	case math.Abs(v) < 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// metric is one row of the growth table: a figure at each pod count.
type metric struct {
	name string
	at   func(r *result.Result, n int) float64
}

func growthMetrics(r *result.Result) []metric {
	call := func(c string) metric {
		return metric{c + " p50 (ms)", func(r *result.Result, n int) float64 { return callP50(r, n, c) }}
	}
	startup := func(r *result.Result, n int) []*result.Segment {
		if p := point(r, n); p != nil && p.Startup != nil {
			return []*result.Segment{p.Startup}
		}
		return nil
	}
	teardown := func(r *result.Result, n int) []*result.Segment {
		for _, s := range r.Teardown {
			if s.From == n {
				return []*result.Segment{s}
			}
		}
		return nil
	}
	return []metric{
		call("ListPodSandbox"), call("ListContainers"),
		call("ListPodSandbox undecoded"), call("ListContainers undecoded"),
		call("PodSandboxStatus"), call("ContainerStatus"),
		call("ListContainerStats"), call("ContainerStats"), call("ListPodSandboxStats"), call("Status"),
		call("docker:ListContainers"), call("docker:InspectContainer"),
		{"RSS max (MiB)", rssMax},
		{"CPU idle (%)", func(r *result.Result, n int) float64 { return cpuPct(r, n, r.Runtime, false) }},
		{"CPU polled (%)", func(r *result.Result, n int) float64 { return cpuPct(r, n, r.Runtime, true) }},
		{"dockerd+containerd CPU idle (%)", func(r *result.Result, n int) float64 { return cpuPct(r, n, "docker", false) }},
		{"dockerd+containerd CPU polled (%)", func(r *result.Result, n int) float64 { return cpuPct(r, n, "docker", true) }},
		{"start-up p50, pods to N (ms)", func(r *result.Result, n int) float64 { return segP50(startup(r, n), "PodStartup(total)") }},
		{"start-up CPU per pod, pods to N (ms)", func(r *result.Result, n int) float64 { return segCPU(startup(r, n), r.Runtime, false) }},
		{"teardown p50, pods from N (ms)", func(r *result.Result, n int) float64 { return segP50(teardown(r, n), "Teardown(total)") }},
		{"teardown CPU per pod, pods from N (ms)", func(r *result.Result, n int) float64 { return segCPU(teardown(r, n), r.Runtime, false) }},
	}
}

// writeGrowth is a runtime's table of figures against pods, with the slope
// per added pod between each two counts.
func writeGrowth(w io.Writer, r *result.Result) {
	ns := counts(r)
	if len(ns) == 0 {
		return
	}
	fmt.Fprintf(w, "\n#### %s (%s): as the node grows\n\n", r.Runtime, r.Version)
	hdr := "| figure |"
	sep := "|---|"
	for _, n := range ns {
		hdr += fmt.Sprintf(" %d pods |", n)
		sep += "---|"
	}
	if len(ns) > 1 {
		hdr += " per added pod, between counts |"
		sep += "---|"
	}
	fmt.Fprintln(w, hdr)
	fmt.Fprintln(w, sep)
	for _, m := range growthMetrics(r) {
		row := "| " + m.name + " |"
		vals := make([]float64, len(ns))
		any := false
		for i, n := range ns {
			vals[i] = m.at(r, n)
			any = any || !math.IsNaN(vals[i])
			row += " " + f(vals[i]) + " |"
		}
		if !any {
			continue
		}
		if len(ns) > 1 {
			var slopes []string
			for i := 1; i < len(ns); i++ {
				slopes = append(slopes, fslope((vals[i]-vals[i-1])/float64(ns[i]-ns[i-1])))
			}
			row += " " + strings.Join(slopes, ", ") + " |"
		}
		fmt.Fprintln(w, row)
	}
}

// fslope prints a per-pod slope with enough digits to compare.
func fslope(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.3g", v)
}

// writeMode is one mode's section of the report.
func writeMode(w io.Writer, m *mode) {
	fmt.Fprintf(w, "\n### %s mode\n\n", m.name)
	for _, r := range []*result.Result{m.self, m.peer} {
		if r != nil {
			fmt.Fprintf(w, "- %s: %s, %s to %s, load average (1/5/15 min) %s at start, %s at end\n",
				r.Runtime, r.Version, r.Started.Format("2006-01-02 15:04"), r.Ended.Format("15:04 MST"), load3(r.LoadAvg[0]), load3(r.LoadAvg[1]))
		}
	}
	if len(m.floor) > 0 {
		fmt.Fprintf(w, "- Docker-API floor of one pod's start-up: median %s ms (%d pods, before and after)\n", f(median(m.floor)), len(m.floor))
	}
	fmt.Fprintf(w, "\n| bar | value | limit | verdict |\n|---|---|---|---|\n")
	for _, b := range bars(m) {
		fmt.Fprintf(w, "| %s | %s %s | %s %s | %s |\n", b.name, f(b.value), b.unit, strconv.FormatFloat(b.limit, 'g', -1, 64), b.unit, b.verdict())
	}
	if len(m.selfBursts) > 0 {
		fmt.Fprintf(w, "\nBurst of %d pods, %d at a time, time to all Running (ms, each round; median):\n\n", m.burstPods, m.burstParallel)
		fmt.Fprintf(w, "| | rounds | median |\n|---|---|---|\n")
		fmt.Fprintf(w, "| Docker API (floor) | %s | %s |\n", fjoin(m.floorBursts), f(median(m.floorBursts)))
		fmt.Fprintf(w, "| dockerlet | %s | %s |\n", fjoin(m.selfBursts), f(median(m.selfBursts)))
		if m.peer != nil && len(m.peerBursts) > 0 {
			fmt.Fprintf(w, "| %s | %s | %s |\n", m.peer.Runtime, fjoin(m.peerBursts), f(median(m.peerBursts)))
		}
	}
	if m.peer != nil {
		writeSideBySide(w, m)
	}
	writeGrowth(w, m.self)
	if m.peer != nil {
		writeGrowth(w, m.peer)
	}
}

func writeSideBySide(w io.Writer, m *mode) {
	s, p := m.self, m.peer
	n := 110
	if point(s, n) == nil || point(p, n) == nil {
		return
	}
	fmt.Fprintf(w, "\n#### Side by side at %d pods\n\n| figure | dockerlet | %s | ratio |\n|---|---|---|---|\n", n, p.Runtime)
	row := func(name string, a, b float64) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, f(a), f(b), f(ratio(a, b)))
	}
	for _, c := range []string{"ListPodSandbox", "ListContainers", "ListPodSandbox undecoded", "ListContainers undecoded", "PodSandboxStatus", "ContainerStatus", "ListContainerStats", "ContainerStats"} {
		row(c+" p50 (ms)", callP50(s, n, c), callP50(p, n, c))
	}
	row("relist (ms)", relist(s, n), relist(p, n))
	row("RSS max (MiB)", rssMax(s, n), rssMax(p, n))
	row("CPU idle (%)", cpuPct(s, n, s.Runtime, false), cpuPct(p, n, p.Runtime, false))
	row("CPU polled (%)", cpuPct(s, n, s.Runtime, true), cpuPct(p, n, p.Runtime, true))
	row("dockerd+containerd CPU polled (%)", cpuPct(s, n, "docker", true), cpuPct(p, n, "docker", true))
	su, psu := segments(s, n, false), segments(p, n, false)
	td, ptd := segments(s, n, true), segments(p, n, true)
	row("start-up p50 (ms)", segP50(su, "PodStartup(total)"), segP50(psu, "PodStartup(total)"))
	row("start-up CPU per pod (ms)", segCPU(su, s.Runtime, false), segCPU(psu, p.Runtime, false))
	row("… of which its children: CNI plugins, helpers (ms)", segCPU(su, s.Runtime, true), segCPU(psu, p.Runtime, true))
	row("start-up dockerd+containerd CPU per pod (ms)", segCPU(su, "docker", false), segCPU(psu, "docker", false))
	row("teardown p50 (ms)", segP50(td, "Teardown(total)"), segP50(ptd, "Teardown(total)"))
	row("… StopPodSandbox p50 (ms)", segP50(td, "StopPodSandbox"), segP50(ptd, "StopPodSandbox"))
	row("… RemovePodSandbox p50 (ms)", segP50(td, "RemovePodSandbox"), segP50(ptd, "RemovePodSandbox"))
	row("teardown CPU per pod (ms)", segCPU(td, s.Runtime, false), segCPU(ptd, p.Runtime, false))
	row("… of which its children (ms)", segCPU(td, s.Runtime, true), segCPU(ptd, p.Runtime, true))
	row("teardown dockerd+containerd CPU per pod (ms)", segCPU(td, "docker", false), segCPU(ptd, "docker", false))
}

func fjoin(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = f(x)
	}
	return strings.Join(s, ", ")
}

// load3 keeps the three load averages of a /proc/loadavg line.
func load3(s string) string {
	f := strings.Fields(s)
	if len(f) < 3 {
		return s
	}
	return strings.Join(f[:3], " ")
}

// fbar prints a bar's value; a ratio with two decimals, as its limits have.
func fbar(b bar) string {
	if b.unit == "×" && !math.IsNaN(b.value) {
		return fmt.Sprintf("%.2f", b.value)
	}
	return f(b.value)
}
