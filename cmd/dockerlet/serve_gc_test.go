package main

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

var sink [][]byte

// After a burst leaves megabytes of free heap, the trimmer hands them back
// (and says so at debug); it ends with its context.
func TestTrimHeapReturnsFreeHeap(t *testing.T) {
	var out enginetest.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		trimHeap(ctx, logger, 10*time.Millisecond)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "returned free heap") {
		if time.Now().After(deadline) {
			t.Fatalf("no trim after a 32 MiB burst; log: %q", out.String())
		}
		for range 512 {
			sink = append(sink, make([]byte, 64<<10))
		}
		sink = nil
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("trimHeap did not return when its context ended")
	}
}

// serve runs on one P unless the environment names GOMAXPROCS, which wins.
func TestTuneProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	logger := slog.New(slog.DiscardHandler)

	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3)
	tuneProcs(logger)
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("GOMAXPROCS=3 in the environment: got %d", got)
	}

	os.Unsetenv("GOMAXPROCS") // t.Setenv restores it
	runtime.GOMAXPROCS(3)
	tuneProcs(logger)
	if got := runtime.GOMAXPROCS(0); got != serveProcs {
		t.Fatalf("no GOMAXPROCS in the environment: got %d, want %d", got, serveProcs)
	}
}
