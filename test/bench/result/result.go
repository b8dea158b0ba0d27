// Package result is what test/bench/scale writes and test/bench/report
// reads: one runtime's run as JSON.
package result

import (
	"slices"
	"time"
)

// Result is one runtime's run. Times are milliseconds, CPU is of one core.
type Result struct {
	Runtime  string    `json:"runtime"` // the -name given (dockerlet, cri-dockerd)
	Version  string    `json:"version"` // as the runtime reports it
	Endpoint string    `json:"endpoint"`
	Mode     string    `json:"mode"` // -mode, for the report (docker, cni)
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
	LoadAvg  [2]string `json:"loadavg"` // /proc/loadavg at start and end

	Bursts []Burst `json:"bursts,omitempty"`
	Points []Point `json:"points,omitempty"`
	// Teardown is in segments between the counts, from the largest down
	// (500->250, ..., 10->0), so that a teardown's cost can be read at the
	// count it happened at, as start-up's is.
	Teardown []*Segment `json:"teardown,omitempty"`
}

// Burst is -burst pods started at once by -parallel workers.
type Burst struct {
	Pods        int                `json:"pods"`
	Parallel    int                `json:"parallel"`
	AllRunning  float64            `json:"all_running_ms"` // first request to the last pod RUNNING
	PerPod      Stats              `json:"per_pod"`        // each pod's RunPodSandbox to RUNNING
	CPUPerPod   map[string]float64 `json:"cpu_ms_per_pod"`
	ChildCPU    map[string]float64 `json:"children_cpu_ms_per_pod,omitempty"`
	TeardownAll float64            `json:"teardown_all_ms"` // the same pods stopped and removed by the same workers
}

// Point is everything measured at one pod count.
type Point struct {
	Pods int `json:"pods"`
	// Startup covers the pods started to reach this count (one at a
	// time); nil when none were.
	Startup *Segment          `json:"startup,omitempty"`
	Calls   map[string]*Stats `json:"calls"`
	Idle    *Window           `json:"idle,omitempty"`
	Polled  *Window           `json:"polled,omitempty"`
}

// Segment is a run of pod start-ups or teardowns, one pod at a time, from
// From running pods to To.
type Segment struct {
	From      int                `json:"from"`
	To        int                `json:"to"`
	Pods      int                `json:"pods"`
	Parallel  int                `json:"parallel,omitempty"` // workers (scale -grow-parallel); 1: one pod at a time
	Steps     map[string]*Stats  `json:"steps"`              // per-call and total latencies
	CPUPerPod map[string]float64 `json:"cpu_ms_per_pod"`
	// ChildCPU is the share of CPUPerPod spent in reaped children (CNI
	// plugins and what they run, other helpers).
	ChildCPU  map[string]float64 `json:"children_cpu_ms_per_pod,omitempty"`
	Seconds   float64            `json:"seconds"`
	DockerOps map[string]float64 `json:"docker_ops,omitempty"` // the runtime's own count of Docker calls, per pod
}

// Window is a time at one pod count, idle or polled like a kubelet.
type Window struct {
	Seconds   float64               `json:"seconds"`
	Procs     map[string]ProcWindow `json:"procs"`
	Calls     map[string]*Stats     `json:"calls,omitempty"` // polled: latencies seen
	Overruns  map[string]int        `json:"overruns,omitempty"`
	DockerOps map[string]float64    `json:"docker_ops,omitempty"` // calls in the window
}

// ProcWindow is one process group's cost over a window.
type ProcWindow struct {
	CPUPct    float64 `json:"cpu_pct"`
	RSSAvgMiB float64 `json:"rss_avg_mib"`
	RSSMaxMiB float64 `json:"rss_max_mib"`
}

// Stats summarises latency samples (nearest-rank percentiles).
type Stats struct {
	N      int     `json:"n"`
	Errors int     `json:"errors,omitempty"`
	Unimpl bool    `json:"unimplemented,omitempty"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
	Mean   float64 `json:"mean_ms"`
}

// Summarize makes Stats of samples; errs is the count of failed calls.
func Summarize(d []time.Duration, errs int) *Stats {
	s := &Stats{N: len(d), Errors: errs}
	if len(d) == 0 {
		return s
	}
	d = slices.Clone(d)
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	s.P50, s.P90, s.P99 = MS(rank(d, 50)), MS(rank(d, 90)), MS(rank(d, 99))
	s.Max, s.Mean = MS(d[len(d)-1]), MS(sum/time.Duration(len(d)))
	return s
}

// rank is the nearest-rank percentile of sorted samples.
func rank(d []time.Duration, p int) time.Duration {
	k := (len(d)*p + 99) / 100
	return d[max(k-1, 0)]
}

// MS is d in milliseconds.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Floor is test/bench/floor's result: pod start-up through the Docker API
// directly, one pod at a time (SamplesMS) or a burst (AllRunningMS).
type Floor struct {
	Mode         string    `json:"mode"`
	N            int       `json:"n"`
	Parallel     int       `json:"parallel,omitempty"`
	MedianMS     float64   `json:"median_ms"`
	AllRunningMS float64   `json:"all_running_ms,omitempty"`
	SamplesMS    []float64 `json:"samples_ms"`
}
