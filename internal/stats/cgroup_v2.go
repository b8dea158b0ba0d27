package stats

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// cgroupV2 reads the unified hierarchy.
type cgroupV2 struct {
	root  string
	files *fileCache // the fast path's files, kept open; nil: open each time
}

func (c *cgroupV2) forget(rel string) {
	if c.files != nil {
		c.files.forget(filepath.Join(c.root, rel))
	}
}

func (c *cgroupV2) version() int { return 2 }

func (c *cgroupV2) procsFile(rel string) string {
	return filepath.Join(c.root, rel, "cgroup.procs")
}

func (c *cgroupV2) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(c.root, rel))
	return err == nil
}

func (c *cgroupV2) fast(rel string, s *sample) error {
	dir := filepath.Join(c.root, rel)
	err := readKVCached(c.files, filepath.Join(dir, "cpu.stat"), func(k []byte, v uint64) {
		switch string(k) {
		case "usage_usec":
			s.cpuUsageNs = v * 1000
		case "user_usec":
			s.cpuUserNs = v * 1000
		case "system_usec":
			s.cpuSystemNs = v * 1000
		case "nr_periods":
			s.cfsPeriods = v
		case "nr_throttled":
			s.cfsThrottled = v
		case "throttled_usec":
			s.cfsThrottledNs = v * 1000
		}
	})
	if err != nil {
		return err
	}
	if s.memUsage, err = readUintCached(c.files, filepath.Join(dir, "memory.current")); err != nil {
		return err
	}
	if s.memLimit, err = readUintCached(c.files, filepath.Join(dir, "memory.max")); err != nil {
		return err
	}
	var inactiveFile, kernelParts uint64
	err = readKVCached(c.files, filepath.Join(dir, "memory.stat"), func(k []byte, v uint64) {
		switch string(k) {
		case "inactive_file":
			inactiveFile = v
		case "anon":
			s.memRSS = v
		case "file":
			s.memCache = v
		case "file_mapped":
			s.memMapped = v
		case "pgfault":
			s.pgfault = v
		case "pgmajfault":
			s.pgmajfault = v
		case "kernel":
			s.memKernel = v
		case "kernel_stack", "slab", "sock", "pagetables", "percpu", "vmalloc":
			kernelParts += v
		}
	})
	if err != nil {
		return err
	}
	if s.memKernel == 0 {
		s.memKernel = kernelParts // kernels before 6.1 have no "kernel" line
	}
	// v2 has no per-cgroup-only fault counters; the hierarchy's stand in.
	s.pgfaultSelf, s.pgmajfaultSelf = s.pgfault, s.pgmajfault
	if s.memUsage > inactiveFile {
		s.memWorkingSet = s.memUsage - inactiveFile
	}
	return nil
}

func (c *cgroupV2) full(rel string, s *sample) error {
	if err := c.fast(rel, s); err != nil {
		return err
	}
	dir := filepath.Join(c.root, rel)
	s.memMaxUsage, _ = readUint(filepath.Join(dir, "memory.peak"))
	s.memSwap, _ = readUint(filepath.Join(dir, "memory.swap.current"))
	s.memSwapLimit, _ = readUint(filepath.Join(dir, "memory.swap.max"))
	s.memReserve, _ = readUint(filepath.Join(dir, "memory.low"))
	_ = readKV(filepath.Join(dir, "memory.events"), func(k []byte, v uint64) {
		switch string(k) {
		case "max":
			s.memFailcnt = v
		case "oom_kill":
			s.oomKills = v
		}
	})
	if w, err := readUint(filepath.Join(dir, "cpu.weight")); err == nil && w > 0 {
		// The inverse of the kernel-doc/runc mapping shares → weight.
		s.cpuShares = 2 + ((w-1)*262142)/9999
	}
	s.cpuQuota = -1
	if b, err := os.ReadFile(filepath.Join(dir, "cpu.max")); err == nil {
		f := bytes.Fields(b)
		if len(f) == 2 {
			if q, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
				s.cpuQuota = q
			}
			s.cpuPeriod, _ = atou(f[1])
		}
	}
	s.procs, _ = countLines(c.procsFile(rel))
	s.threads, _ = readUint(filepath.Join(dir, "pids.current"))
	s.threadsMax, _ = readUint(filepath.Join(dir, "pids.max"))
	s.blkio = readIOStatV2(filepath.Join(dir, "io.stat"))
	return nil
}

// readIOStatV2 parses "8:0 rbytes=1 wbytes=2 rios=3 wios=4 …" lines.
func readIOStatV2(file string) []blkioStat {
	var out []blkioStat
	_ = readFile(file, func(b []byte) error {
		for _, line := range bytes.Split(b, []byte{'\n'}) {
			f := bytes.Fields(line)
			if len(f) < 2 {
				continue
			}
			maj, min, ok := parseMajMin(f[0])
			if !ok {
				continue
			}
			r := blkioStat{major: maj, minor: min, op: "Read"}
			w := blkioStat{major: maj, minor: min, op: "Write"}
			for _, kv := range f[1:] {
				k, v, ok := bytes.Cut(kv, []byte{'='})
				if !ok {
					continue
				}
				n, _ := atou(v)
				switch string(k) {
				case "rbytes":
					r.bytes = n
				case "wbytes":
					w.bytes = n
				case "rios":
					r.ios = n
				case "wios":
					w.ios = n
				}
			}
			out = append(out, r, w)
		}
		return nil
	})
	return out
}
