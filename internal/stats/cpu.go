package stats

import (
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// minCPUWindow is the shortest interval nano-cores are computed over: two
// calls a few microseconds apart would give noise, not a rate.
const minCPUWindow = 100 * time.Millisecond

// cpuPrev is the reading the next nano-cores figure is computed from.
type cpuPrev struct {
	usage     uint64
	at        time.Time
	nanoCores uint64
	hasRate   bool
}

// nanoCores computes the CPU rate between prev and (usage, now) and tells
// whether the new reading should replace prev.
func nanoCores(prev cpuPrev, usage uint64, now time.Time) (rate uint64, ok, replace bool) {
	dt := now.Sub(prev.at)
	switch {
	case prev.at.IsZero():
		return 0, false, true
	case usage < prev.usage:
		// The counter went back: a new cgroup under the same key.
		return 0, false, true
	case dt < minCPUWindow:
		return prev.nanoCores, prev.hasRate, false
	}
	rate = uint64(float64(usage-prev.usage) / dt.Seconds())
	return rate, true, true
}

// cpuUsage builds the CRI CPU figures for key and remembers the reading.
// UsageNanoCores is left unset until there is a previous reading: the
// kubelet then computes its own, rather than showing a false zero.
func (c *Collector) cpuUsage(key string, usage uint64, now time.Time) *runtimeapi.CpuUsage {
	c.mu.Lock()
	prev := c.cpu[key]
	rate, ok, replace := nanoCores(prev, usage, now)
	if replace {
		c.cpu[key] = cpuPrev{usage: usage, at: now, nanoCores: rate, hasRate: ok}
	}
	c.mu.Unlock()
	u := &runtimeapi.CpuUsage{
		Timestamp:            now.UnixNano(),
		UsageCoreNanoSeconds: u64(usage),
	}
	if ok {
		u.UsageNanoCores = u64(rate)
	}
	return u
}
