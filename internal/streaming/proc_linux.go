package streaming

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// killContainerProcess kills the process tree of pid after checking that
// pid (a host PID from InspectExec) still is in the container's cgroup:
// the exec may have ended and its PID been reused meanwhile.
func killContainerProcess(containerID string, pid int) error {
	if containerID == "" {
		return fmt.Errorf("refusing to kill pid %d: no container id", pid)
	}
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // already gone
		}
		return fmt.Errorf("read cgroup of pid %d: %w", pid, err)
	}
	// Docker names the container's cgroup after its id, with the cgroupfs
	// (".../<id>") and the systemd ("docker-<id>.scope") drivers alike.
	if !strings.Contains(string(cg), containerID) {
		return fmt.Errorf("refusing to kill pid %d: not in the cgroup of container %s", pid, containerID)
	}
	return killProcessTree(pid)
}

// killProcessTree SIGKILLs pid and every process descending from it, read
// from /proc (a killed parent's children are re-parented and lose the
// link, so the parent goes last).
func killProcessTree(pid int) error {
	var errs []error
	kill := func(p int) {
		if err := unix.Kill(p, unix.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill %d: %w", p, err))
		}
	}
	// Children first, while pid still holds them together; again in case
	// one forked meanwhile.
	for round := 0; round < 3; round++ {
		tree := descendants(pid)
		if len(tree) == 0 {
			break
		}
		for _, p := range tree {
			kill(p)
		}
	}
	// Its own process group too, when pid leads one (never someone else's).
	if pgid, err := unix.Getpgid(pid); err == nil && pgid == pid {
		_ = unix.Kill(-pid, unix.SIGKILL)
	}
	kill(pid)
	return errors.Join(errs...)
}

// descendants lists the processes below pid, children first.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := make(map[int][]int)
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parentPID(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			walk(c)
			out = append(out, c)
		}
	}
	walk(pid)
	return out
}

// parentPID reads the ppid field of /proc/<pid>/stat. The command name in
// parentheses may contain spaces and parentheses, so fields are counted
// from the last ')'.
func parentPID(pid int) (int, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}
