package cache

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The machine these benchmarks run on is shared and often loaded, which
// makes wall-clock ns/op noisy. CPU time per operation is steadier and is
// what the CPU bars are about: cpu-ns/op is this process's
// (user+system, GC included), dockerd-cpu-ns/op the daemon's.

func selfCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// dockerdPID finds the daemon by its command name; 0 if not visible.
func dockerdPID() int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && strings.TrimSpace(string(b)) == "dockerd" {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
			return pid
		}
	}
	return 0
}

// procCPU returns a process's user+system CPU time in ns from /proc.
func procCPU(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command; utime and stime are 14 and 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTick = 100 // USER_HZ on Linux
	return (ut + st) * (1e9 / clockTick)
}

// measureCPU runs loop (a b.Loop) and reports CPU per operation.
func measureCPU(b *testing.B, withDockerd bool, loop func()) {
	pid := 0
	if withDockerd {
		pid = dockerdPID()
	}
	self, daemon := selfCPU(), procCPU(pid)
	loop()
	if b.N > 0 {
		b.ReportMetric(float64(selfCPU()-self)/float64(b.N), "cpu-ns/op")
		if pid != 0 {
			b.ReportMetric(float64(procCPU(pid)-daemon)/float64(b.N), "dockerd-cpu-ns/op")
		}
	}
}
