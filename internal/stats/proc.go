package stats

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// countFDs counts the open descriptors, and the sockets among them, of
// every process listed in a cgroup.procs file.
func countFDs(procRoot, procsFile string) (fds, sockets uint64) {
	_ = readFile(procsFile, func(b []byte) error {
		for _, p := range bytes.Fields(b) {
			dir := filepath.Join(procRoot, string(p), "fd")
			ents, err := os.ReadDir(dir)
			if err != nil {
				continue
			}
			fds += uint64(len(ents))
			for _, e := range ents {
				if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
					sockets++
				}
			}
		}
		return nil
	})
	return fds, sockets
}

// clockTicks is USER_HZ, 100 on every Linux architecture Docker runs on.
const clockTicks = 100

var bootTime = sync.OnceValue(func() uint64 {
	var bt uint64
	_ = readKV("/proc/stat", func(k []byte, v uint64) {
		if string(k) == "btime" {
			bt = v
		}
	})
	return bt
})

// processStart is when pid started, in unix seconds (0 if unknown), from
// field 22 of /proc/<pid>/stat.
func processStart(procRoot string, pid int) uint64 {
	var start uint64
	_ = readFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"), func(b []byte) error {
		// The command name may hold spaces and parentheses: fields count
		// from the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			return nil
		}
		f := bytes.Fields(b[i+1:])
		// f[0] is field 3 (state); starttime is field 22.
		if len(f) > 19 {
			if t, ok := atou(f[19]); ok {
				start = t / clockTicks
			}
		}
		return nil
	})
	if start == 0 {
		return 0
	}
	return bootTime() + start
}

// blockDevices maps major:minor to a device name from /proc/partitions,
// for the blkio series' "device" label.
func blockDevices() map[[2]uint64]string {
	out := map[[2]uint64]string{}
	_ = readFile("/proc/partitions", func(b []byte) error {
		for _, line := range bytes.Split(b, []byte{'\n'}) {
			f := bytes.Fields(line)
			if len(f) != 4 {
				continue
			}
			maj, ok1 := atou(f[0])
			min, ok2 := atou(f[1])
			if ok1 && ok2 {
				out[[2]uint64{maj, min}] = "/dev/" + string(f[3])
			}
		}
		return nil
	})
	return out
}
