package stats

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// cgroupV1 reads the legacy hierarchy: one mount per controller.
type cgroupV1 struct {
	mounts map[string]string // controller → mount point
	files  *fileCache        // the fast path's files, kept open; nil: open each time
}

func (c *cgroupV1) forget(rel string) {
	if c.files == nil {
		return
	}
	for _, m := range c.mounts {
		c.files.forget(filepath.Join(m, rel))
	}
}

func (c *cgroupV1) version() int { return 1 }

func (c *cgroupV1) dir(controller, rel string) string {
	return filepath.Join(c.mounts[controller], rel)
}

func (c *cgroupV1) procsFile(rel string) string {
	return filepath.Join(c.dir("memory", rel), "cgroup.procs")
}

func (c *cgroupV1) exists(rel string) bool {
	_, err := os.Stat(c.dir("memory", rel))
	return err == nil
}

func (c *cgroupV1) fast(rel string, s *sample) error {
	var err error
	if s.cpuUsageNs, err = readUintCached(c.files, filepath.Join(c.dir("cpuacct", rel), "cpuacct.usage")); err != nil {
		return err
	}
	mem := c.dir("memory", rel)
	if s.memUsage, err = readUintCached(c.files, filepath.Join(mem, "memory.usage_in_bytes")); err != nil {
		return err
	}
	var inactiveFile uint64
	err = readKVCached(c.files, filepath.Join(mem, "memory.stat"), func(k []byte, v uint64) {
		switch string(k) {
		case "hierarchical_memory_limit":
			// The effective limit (the smallest of this cgroup's and its
			// ancestors'), and one file fewer than memory.limit_in_bytes.
			s.memLimit = limitOrZero(v)
		case "total_inactive_file":
			inactiveFile = v
		case "total_rss":
			s.memRSS = v
		case "total_cache":
			s.memCache = v
		case "total_mapped_file":
			s.memMapped = v
		case "total_swap":
			s.memSwap = v
		case "total_pgfault":
			s.pgfault = v
		case "total_pgmajfault":
			s.pgmajfault = v
		case "pgfault":
			s.pgfaultSelf = v
		case "pgmajfault":
			s.pgmajfaultSelf = v
		}
	})
	if err != nil {
		return err
	}
	// The kubelet's (cAdvisor's) working set: usage less inactive page cache.
	if s.memUsage > inactiveFile {
		s.memWorkingSet = s.memUsage - inactiveFile
	}
	return nil
}

func (c *cgroupV1) full(rel string, s *sample) error {
	if err := c.fast(rel, s); err != nil {
		return err
	}
	acct := c.dir("cpuacct", rel)
	var err error
	if s.cpuUserNs, err = readUint(filepath.Join(acct, "cpuacct.usage_user")); optional(err) != nil {
		return err
	}
	if s.cpuSystemNs, err = readUint(filepath.Join(acct, "cpuacct.usage_sys")); optional(err) != nil {
		return err
	}
	cpu := c.dir("cpu", rel)
	if err := optional(readKV(filepath.Join(cpu, "cpu.stat"), func(k []byte, v uint64) {
		switch string(k) {
		case "nr_periods":
			s.cfsPeriods = v
		case "nr_throttled":
			s.cfsThrottled = v
		case "throttled_time":
			s.cfsThrottledNs = v
		}
	})); err != nil {
		return err
	}
	s.cpuShares, _ = readUint(filepath.Join(cpu, "cpu.shares"))
	s.cpuPeriod, _ = readUint(filepath.Join(cpu, "cpu.cfs_period_us"))
	s.cpuQuota = -1
	if b, err := os.ReadFile(filepath.Join(cpu, "cpu.cfs_quota_us")); err == nil {
		if q, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64); err == nil {
			s.cpuQuota = q
		}
	}

	mem := c.dir("memory", rel)
	if v, err := readUint(filepath.Join(mem, "memory.limit_in_bytes")); err == nil {
		s.memLimit = limitOrZero(v) // the spec: this cgroup's own limit
	}
	s.memMaxUsage, _ = readUint(filepath.Join(mem, "memory.max_usage_in_bytes"))
	s.memFailcnt, _ = readUint(filepath.Join(mem, "memory.failcnt"))
	s.memKernel, _ = readUint(filepath.Join(mem, "memory.kmem.usage_in_bytes"))
	if v, err := readUint(filepath.Join(mem, "memory.memsw.limit_in_bytes")); err == nil {
		s.memSwapLimit = limitOrZero(v)
	}
	if v, err := readUint(filepath.Join(mem, "memory.soft_limit_in_bytes")); err == nil {
		s.memReserve = limitOrZero(v)
	}
	_ = readKV(filepath.Join(mem, "memory.oom_control"), func(k []byte, v uint64) {
		if string(k) == "oom_kill" {
			s.oomKills = v
		}
	})
	s.procs, _ = countLines(c.procsFile(rel))
	if p, ok := c.mounts["pids"]; ok {
		s.threads, _ = readUint(filepath.Join(p, rel, "pids.current"))
		s.threadsMax, _ = readUint(filepath.Join(p, rel, "pids.max"))
	} else {
		s.threads, _ = countLines(filepath.Join(mem, "tasks"))
	}
	if _, ok := c.mounts["blkio"]; ok {
		blk := c.dir("blkio", rel)
		s.blkio = readBlkioV1(filepath.Join(blk, "blkio.throttle.io_service_bytes"), filepath.Join(blk, "blkio.throttle.io_serviced"))
	}
	return nil
}

// readBlkioV1 merges "<major>:<minor> <Op> <value>" lines of the bytes and
// ios files.
func readBlkioV1(bytesFile, iosFile string) []blkioStat {
	type key struct {
		maj, min uint64
		op       string
	}
	idx := map[key]int{}
	var out []blkioStat
	add := func(file string, isBytes bool) {
		_ = readFile(file, func(b []byte) error {
			for _, line := range bytes.Split(b, []byte{'\n'}) {
				f := bytes.Fields(line)
				if len(f) != 3 {
					continue
				}
				maj, min, ok1 := parseMajMin(f[0])
				v, ok2 := atou(f[2])
				if !ok1 || !ok2 {
					continue
				}
				k := key{maj, min, string(f[1])}
				i, ok := idx[k]
				if !ok {
					i = len(out)
					idx[k] = i
					out = append(out, blkioStat{major: maj, minor: min, op: k.op})
				}
				if isBytes {
					out[i].bytes = v
				} else {
					out[i].ios = v
				}
			}
			return nil
		})
	}
	add(bytesFile, true)
	add(iosFile, false)
	return out
}
