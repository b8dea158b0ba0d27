package faults

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGHUPKeepsServing: `systemctl reload`, a tool or an operator may
// send SIGHUP; its default action would end the server (exit 129, no
// graceful stop), and a few in a row would leave the node without its
// runtime. The server logs each and keeps serving: a pod lifecycle works
// after three in quick succession.
func TestSIGHUPKeepsServing(t *testing.T) {
	f := newFixture(t, "hup", "")
	for i := range 3 {
		if err := f.srv.Signal(syscall.SIGHUP); err != nil {
			t.Fatalf("SIGHUP %d: %v (the last exit: %v); log: %s", i+1, err, f.srv.ExitErr(), f.srv.LogPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if !f.srv.Alive() {
		t.Fatalf("the server exited on SIGHUP (%v); log: %s", f.srv.ExitErr(), f.srv.LogPath)
	}
	p, err := runPod(f.ctx, f.rt, "hup", f.busybox, workDir(t, "hup-logs"))
	if err != nil {
		t.Fatalf("after SIGHUP: %v", err)
	}
	if err := removePod(f.ctx, f.rt, p.sandbox); err != nil {
		t.Fatalf("after SIGHUP: %v", err)
	}
	b, err := os.ReadFile(f.srv.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "SIGHUP received and ignored"); n != 3 {
		t.Errorf("%d log lines for 3 SIGHUPs; log: %s", n, f.srv.LogPath)
	}
}
