package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer is a log sink the handler goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Without the handler, SIGHUP's default action ends the test binary.
func TestIgnoreHangups(t *testing.T) {
	var buf lockedBuffer
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
