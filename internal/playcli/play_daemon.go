package playcli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// supervisorLock is held by the process supervising a state directory:
// one supervisor per state dir.
type supervisorLock struct{ f *os.File }

// tryLock takes the supervisor lock; ok is false when another process
// holds it.
func tryLock(store pod.Store) (*supervisorLock, bool, error) {
	if err := store.Prepare(); err != nil {
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

// lockWait bounds how long lockSupervisor waits out a holder.
var lockWait = 2 * time.Second

// lockSupervisor takes the supervisor lock for a process that is to
// supervise store. supervisorRunning probes by taking the same lock for a
// moment, so a probe (play polling for the supervisor it started, a
// `get` or `down` beside it) can hold it exactly when the supervisor
// tries: that would make the supervisor give up as if another ran. A probe
// lets go at once and a supervisor never does, so the lock is retried for
// lockWait before ok=false.
func lockSupervisor(store pod.Store) (*supervisorLock, bool, error) {
	deadline := time.Now().Add(lockWait)
	for {
		l, ok, err := tryLock(store)
		if ok || err != nil || time.Now().After(deadline) {
			return l, ok, err
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// stopDaemon asks the background supervisor to exit (its pods keep
// running). The pid file may be stale — the supervisor gone, its pid
// reused by an unrelated process, or the lock held by a foreground play —
// so the process it names is signalled only if it is the one holding the
// supervisor lock, checked on a pidfd taken first (a pid reused after the
// check is not signalled either).
func stopDaemon(store pod.Store) {
	b, err := os.ReadFile(store.PidFile())
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // gone (or a kernel without pidfds: then not signalled at all)
	}
	defer unix.Close(pidfd)
	if holds, err := holdsLock(pid, store.LockFile()); err != nil || !holds {
		return
	}
	_ = unix.PidfdSendSignal(pidfd, unix.SIGTERM, nil, 0)
}

// holdsLock reports whether process pid holds the flock on path, from the
// kernel's table of locks (/proc/locks: "N: FLOCK ADVISORY WRITE PID
// MAJ:MIN:INODE ..."; waiters are marked "->").
func holdsLock(pid int, path string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return false, err
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(locks), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" {
			continue // a waiter ("->"), or a POSIX lock
		}
		if f[4] == strconv.Itoa(pid) && f[5] == want {
			return true, nil
		}
	}
	return false, nil
}
