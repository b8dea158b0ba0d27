package netlimit

import (
	"syscall"
)

// OpenFiles raises the process's soft open-file limit to its hard limit
// (Go does so at start too; a parent may have lowered it since) and
// returns the soft limit now in force.
func OpenFiles() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			lim = raised
		}
	}
	return lim.Cur, nil
}

// ListenerShare is the part of the open-file limit the listeners' caps may
// take together; the rest is for what the server itself opens (Docker's
// connections, log files and copiers, checkpoints, CNI).
const ListenerShare = 2 // one half

// Share fits the wanted caps into budget: unchanged when they fit,
// otherwise scaled down in proportion (each at least 1). Caps of 0 (none
// wanted: the listener is off) stay 0.
func Share(budget uint64, want ...int) []int {
	out := make([]int, len(want))
	var sum uint64
	for i, w := range want {
		out[i] = max(w, 0)
		sum += uint64(out[i])
	}
	if sum <= budget || sum == 0 {
		return out
	}
	for i, w := range out {
		if w > 0 {
			out[i] = max(1, int(uint64(w)*budget/sum))
		}
	}
	return out
}
