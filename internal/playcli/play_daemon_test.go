package playcli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// `down` stops the background supervisor by the pid its file names — but
// only if that process holds the supervisor lock. A stale pid file (the
// supervisor gone, the lock held by a foreground play) must not get an
// unrelated process signalled.
func TestStopDaemonSignalsOnlyTheLockHolder(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("needs flock(1)")
	}
	store := pod.Store{Dir: filepath.Join(t.TempDir(), "state")}
	if err := store.Prepare(); err != nil {
		t.Fatal(err)
	}
	start := func(name string, args ...string) (*exec.Cmd, chan error) {
		t.Helper()
		cmd := exec.Command(name, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return cmd, exited
	}
	writePid := func(pid int) {
		t.Helper()
		if err := os.WriteFile(store.PidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// The real supervisor: holds the lock, named by the pid file.
	holder, holderExited := start("flock", store.LockFile(), "sleep", "60")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ok, _ := holdsLock(holder.Process.Pid, store.LockFile()); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("flock never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// An unrelated process named by a stale pid file, while another
	// process holds the lock.
	victim, victimExited := start("sleep", "60")
	writePid(victim.Process.Pid)
	stopDaemon(store)
	select {
	case err := <-victimExited:
		t.Fatalf("an unrelated process named by a stale pid file was signalled: %v", err)
	case <-time.After(500 * time.Millisecond):
	}

	writePid(holder.Process.Pid)
	stopDaemon(store)
	select {
	case <-holderExited:
	case <-time.After(10 * time.Second):
		t.Fatal("the lock holder named by the pid file was not signalled")
	}
}

// A supervisor starting while a probe (supervisorRunning) holds the lock
// for its moment gets the lock once the probe lets go; one that finds the
// lock held for good says another supervisor runs.
func TestLockSupervisorOutwaitsAProbe(t *testing.T) {
	store := pod.Store{Dir: filepath.Join(t.TempDir(), "state")}
	probe, ok, err := tryLock(store)
	if err != nil || !ok {
		t.Fatalf("probe: ok %v, %v", ok, err)
	}
	go func() { time.Sleep(100 * time.Millisecond); probe.Unlock() }()
	sup, ok, err := lockSupervisor(store)
	if err != nil || !ok {
		t.Fatalf("supervisor behind a probe: ok %v, %v", ok, err)
	}
	defer sup.Unlock()

	defer func(w time.Duration) { lockWait = w }(lockWait)
	lockWait = 200 * time.Millisecond
	start := time.Now()
	if _, ok, err := lockSupervisor(store); err != nil || ok {
		t.Fatalf("second supervisor: ok %v, %v", ok, err)
	}
	if d := time.Since(start); d < lockWait {
		t.Fatalf("gave up after %v, before lockWait", d)
	}
}
