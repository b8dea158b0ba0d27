package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// procGroup is a named set of processes whose cost is summed: the runtime
// (one pid), or Docker (dockerd and its containerd).
type procGroup struct {
	name string
	pids []int
}

// parseGroups reads "name=pid[+pid...],..." (a pid may be pidfile:PATH).
func parseGroups(s string) ([]procGroup, error) {
	var out []procGroup
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, list, ok := strings.Cut(item, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-pids: %q is not name=pid", item)
		}
		g := procGroup{name: name}
		for _, v := range strings.Split(list, "+") {
			if path, ok := strings.CutPrefix(v, "pidfile:"); ok {
				data, err := os.ReadFile(path)
				if err != nil {
					return nil, fmt.Errorf("-pids: %w", err)
				}
				v = strings.TrimSpace(string(data))
			}
			pid, err := strconv.Atoi(v)
			if err != nil || pid <= 0 {
				return nil, fmt.Errorf("-pids: bad pid %q", v)
			}
			g.pids = append(g.pids, pid)
		}
		out = append(out, g)
	}
	return out, nil
}

// procSample is a group's CPU time so far (utime+stime of each process
// and of its reaped children: CNI plugins and other helpers a runtime
// runs count as its own) and resident memory.
type procSample struct {
	cpuTicks   int64 // USER_HZ, 100 a second
	childTicks int64 // the reaped children's share of cpuTicks
	rssKiB     int64
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

func (g procGroup) sample() procSample {
	var s procSample
	for _, pid := range g.pids {
		all, children := procCPU(pid)
		s.cpuTicks += all
		s.childTicks += children
		s.rssKiB += procRSS(pid)
	}
	return s
}

// procCPU is a process's CPU time with its reaped children's, and the
// children's alone.
func procCPU(pid int) (all, children int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	str := string(data)
	i := strings.LastIndexByte(str, ')')
	if i < 0 {
		return 0, 0
	}
	// f[0] is field 3 (state); utime, stime, cutime, cstime are 14..17.
	f := strings.Fields(str[i+1:])
	if len(f) < 15 {
		return 0, 0
	}
	var t [4]int64
	for j, k := range []int{11, 12, 13, 14} {
		t[j], _ = strconv.ParseInt(f[k], 10, 64)
	}
	return t[0] + t[1] + t[2] + t[3], t[2] + t[3]
}

func procRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// snapshot is every group's sample at one instant.
type snapshot struct {
	at time.Time
	s  map[string]procSample
}

func takeSnapshot(groups []procGroup) snapshot {
	sn := snapshot{at: time.Now(), s: map[string]procSample{}}
	for _, g := range groups {
		sn.s[g.name] = g.sample()
	}
	return sn
}

// cpuPerPod is each group's CPU milliseconds per pod between two
// snapshots, and the reaped children's share of it.
func cpuPerPod(a, b snapshot, pods int) (all, children map[string]float64) {
	all, children = map[string]float64{}, map[string]float64{}
	if pods <= 0 {
		return all, children
	}
	per := func(t int64) float64 { return float64(t) * 1000 / clockTicks / float64(pods) }
	for name, sb := range b.s {
		all[name] = per(sb.cpuTicks - a.s[name].cpuTicks)
		if c := sb.childTicks - a.s[name].childTicks; c > 0 {
			children[name] = per(c)
		}
	}
	return all, children
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(data))
}
