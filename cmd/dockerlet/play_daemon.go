//go:build !noplay

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// supervisorLock is held by the process supervising a state directory:
// one supervisor per state dir.
type supervisorLock struct{ f *os.File }

// tryLock takes the supervisor lock; ok is false when another process
// holds it.
func tryLock(store pod.Store) (*supervisorLock, bool, error) {
	if err := os.MkdirAll(store.Dir, 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(store.LockFile(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("supervisor lock: %w", err)
	}
	return &supervisorLock{f: f}, true, nil
}

func (l *supervisorLock) Unlock() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// supervisorRunning reports whether some process supervises store.
func supervisorRunning(store pod.Store) bool {
	l, ok, err := tryLock(store)
	if err != nil {
		return false
	}
	if ok {
		l.Unlock()
		return false
	}
	return true
}

// startDaemon re-executes dockerlet as a detached background supervisor
// (`dockerlet supervise`), unless one already runs, and waits until it
// holds the lock.
func startDaemon(f *playFlags) (started bool, err error) {
	store := pod.Store{Dir: f.stateDir}
	if supervisorRunning(store) {
		return false, nil
	}
	self, err := os.Executable()
	if err != nil {
		return false, err
	}
	logf, err := os.OpenFile(store.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return false, err
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return false, err
	}
	defer devnull.Close()
	cmd := exec.Command(self, append([]string{"supervise"}, f.args()...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // survives the terminal
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start the background supervisor: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return false, fmt.Errorf("the background supervisor exited (%v); see %s", err, store.LogFile())
		case <-time.After(50 * time.Millisecond):
		}
		if supervisorRunning(store) {
			return true, nil
		}
	}
	return false, fmt.Errorf("the background supervisor did not start within 30s; see %s", store.LogFile())
}

// stopDaemon asks the background supervisor to exit (its pods keep running).
func stopDaemon(store pod.Store) {
	b, err := os.ReadFile(store.PidFile())
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	if supervisorRunning(store) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}
