package main

import (
	"math"

	"github.com/dockerlet/dockerlet/test/bench/result"
)

// The figures the report reads out of one runtime's run. A missing
// figure is NaN (printed as "–", left out of plots).

var nan = math.NaN()

func point(r *result.Result, n int) *result.Point {
	if r == nil {
		return nil
	}
	for i := range r.Points {
		if r.Points[i].Pods == n {
			return &r.Points[i]
		}
	}
	return nil
}

// counts are the pod counts a run measured.
func counts(r *result.Result) []int {
	if r == nil {
		return nil
	}
	var out []int
	for _, p := range r.Points {
		out = append(out, p.Pods)
	}
	return out
}

// callP50 is a sampled call's median at n pods.
func callP50(r *result.Result, n int, call string) float64 {
	p := point(r, n)
	if p == nil || p.Calls[call] == nil || p.Calls[call].N == 0 {
		return nan
	}
	return p.Calls[call].P50
}

// relist is the PLEG relist: ListPodSandbox and ListContainers, medians summed.
func relist(r *result.Result, n int) float64 {
	return callP50(r, n, "ListPodSandbox") + callP50(r, n, "ListContainers")
}

// window picks the idle or the polled window at n pods.
func window(r *result.Result, n int, polled bool) *result.Window {
	p := point(r, n)
	switch {
	case p == nil:
		return nil
	case polled:
		return p.Polled
	default:
		return p.Idle
	}
}

// cpuPct is a process group's CPU in the idle or polled window at n pods.
func cpuPct(r *result.Result, n int, group string, polled bool) float64 {
	w := window(r, n, polled)
	if w == nil {
		return nan
	}
	pw, ok := w.Procs[group]
	if !ok {
		return nan
	}
	return pw.CPUPct
}

// rssMax is the runtime's largest RSS over both windows at n pods.
func rssMax(r *result.Result, n int) float64 {
	v := nan
	for _, polled := range []bool{false, true} {
		if w := window(r, n, polled); w != nil {
			if pw, ok := w.Procs[r.Runtime]; ok && (math.IsNaN(v) || pw.RSSMaxMiB > v) {
				v = pw.RSSMaxMiB
			}
		}
	}
	return v
}

// segments are the start-up segments up to n pods, or the teardown
// segments from n pods down.
func segments(r *result.Result, n int, teardown bool) []*result.Segment {
	if r == nil {
		return nil
	}
	var out []*result.Segment
	if teardown {
		for _, s := range r.Teardown {
			if s.From <= n {
				out = append(out, s)
			}
		}
		return out
	}
	for i := range r.Points {
		if s := r.Points[i].Startup; s != nil && s.To <= n {
			out = append(out, s)
		}
	}
	return out
}

// segCPU is a group's CPU ms per pod over segments (pod-weighted).
func segCPU(segs []*result.Segment, group string, children bool) float64 {
	var sum float64
	pods := 0
	for _, s := range segs {
		m := s.CPUPerPod
		if children {
			m = s.ChildCPU
		}
		sum += m[group] * float64(s.Pods)
		pods += s.Pods
	}
	if pods == 0 {
		return nan
	}
	return sum / float64(pods)
}

// segP50 is a step's median over segments (their medians, pod-weighted).
func segP50(segs []*result.Segment, step string) float64 {
	var sum float64
	pods := 0
	for _, s := range segs {
		if st := s.Steps[step]; st != nil && st.N > 0 {
			sum += st.P50 * float64(st.N)
			pods += st.N
		}
	}
	if pods == 0 {
		return nan
	}
	return sum / float64(pods)
}

// ratio is a/b, NaN when either is missing.
func ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return nan
	}
	return a / b
}
