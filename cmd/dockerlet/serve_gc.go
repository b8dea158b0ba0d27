package main

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// serveGCPercent is serve's default GOGC. The server's live heap is small
// (the state cache, ~10 MiB at 110 pods) and it allocates little (the
// kubelet's relist is a few hundred KiB a second), so collecting at 25 %
// growth instead of Go's 100 % costs a GC cycle every few seconds — a
// fraction of a millisecond of CPU each — and keeps the heap, and with it
// the RSS the runtime's scavenger lets the process hold, near the live
// size (RSS at 110 pods). GOGC in the environment wins.
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

// serveProcs is serve's default GOMAXPROCS. The server's CPU is a few
// milliseconds a second (a relist is ~0.1 ms of it) spent in short calls
// that hand work between goroutines: gRPC's reader, the handler and its
// writer. With a second P idle, every hand-off wakes another thread that
// spins looking for work and goes back to sleep; on one P the hand-offs
// stay on the thread that runs them. Measured at 50 pods, A/B in one run
// each way round: relist p50 0.3 against 0.4–0.7 ms, polled CPU 0.27–0.30
// against 0.37–0.47 % (docs/performance.md). Blocking system calls
// (Docker's socket, log and cgroup files) do not hold the P, and the CPU
// a pod start costs (~25 ms) is far below one core even in bursts.
// GOMAXPROCS in the environment wins.
const serveProcs = 1

// tuneProcs applies serve's GOMAXPROCS default unless the operator set it.
func tuneProcs(logger *slog.Logger) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return
	}
	prev := runtime.GOMAXPROCS(serveProcs)
	logger.Debug("GOMAXPROCS set for serve", "gomaxprocs", serveProcs, "was", prev)
}

// disableHeapProfiling turns off the runtime's heap-profile sampling when
// no pprof listener could ever report it: the sampled-allocation buckets
// are ~1.5 MiB of RSS at 110 pods, for a profile nobody can read.
func disableHeapProfiling() { runtime.MemProfileRate = 0 }

// Heap trimming: Go's background scavenger hands free heap back to the
// kernel only down to about 10 % over the heap goal, and slowly; after a
// burst (a node starting 110 pods, a resync) the server kept ~3 MiB it no
// longer used for minutes. Every trimEvery, if more than
// trimAbove of the heap is free but still resident, trimHeap returns it.
// The check reads one runtime metric (no stop-the-world); a trim costs
// one GC cycle, well under a millisecond of CPU at this heap size.
const (
	trimEvery = 20 * time.Second
	trimAbove = 1 << 20
)

// trimHeap checks every period until ctx ends.
func trimHeap(ctx context.Context, logger *slog.Logger, every time.Duration) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return // a runtime without the metric: nothing to go by
		}
		if free := sample[0].Value.Uint64(); free > trimAbove {
			debug.FreeOSMemory()
			logger.Debug("returned free heap to the kernel", "bytes", free)
		}
	}
}
