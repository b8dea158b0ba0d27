package main

import (
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

// Without the handler, SIGHUP's default action ends the test binary.
func TestIgnoreHangups(t *testing.T) {
	var buf enginetest.SyncBuffer
	stop := ignoreHangups(slog.New(slog.NewTextHandler(&buf, nil)))
	defer stop()
	for range 3 {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "SIGHUP received and ignored") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for SIGHUP; log: %q", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
