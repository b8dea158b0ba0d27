package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
)

// serveGCPercent is serve's default GOGC. The server's live heap is small
// (the state cache, ~10 MiB at 110 pods) and it allocates little (the
// kubelet's relist is a few hundred KiB a second), so collecting at 25 %
// growth instead of Go's 100 % costs a GC cycle every few seconds — a
// fraction of a millisecond of CPU each — and keeps the heap, and with it
// the RSS the runtime's scavenger lets the process hold, near the live
// size (issue 6: RSS at 110 pods). GOGC in the environment wins.
const serveGCPercent = 25

// tuneGC applies serve's GC default unless the operator set GOGC. No
// default GOMEMLIMIT: a limit under a large node's live heap would make
// the GC run continuously; operators who want one set GOMEMLIMIT.
func tuneGC(logger *slog.Logger) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	debug.SetGCPercent(serveGCPercent)
	logger.Debug("GC target set for serve", "gogc", serveGCPercent)
}

// disableHeapProfiling turns off the runtime's heap-profile sampling when
// no pprof listener could ever report it: the sampled-allocation buckets
// are ~1.5 MiB of RSS at 110 pods, for a profile nobody can read.
func disableHeapProfiling() { runtime.MemProfileRate = 0 }
