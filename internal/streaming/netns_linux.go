package streaming

import (
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inNetNS runs dial on an OS thread switched into the network namespace at
// nsPath. Sockets keep the namespace they were created in, so the
// connection stays inside the pod after the thread switches back.
func inNetNS(nsPath string, dial func() (net.Conn, error)) (net.Conn, error) {
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	defer target.Close()

	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	// A fresh goroutine: if switching back fails, it exits still locked and
	// the Go runtime discards its thread instead of reusing it.
	go func() {
		runtime.LockOSThread()
		self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("open own network namespace: %w", err)}
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter network namespace %s: %w", nsPath, err)}
			return
		}
		conn, err := dial()
		if restoreErr := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); restoreErr == nil {
			runtime.UnlockOSThread()
		}
		done <- result{conn: conn, err: err}
	}()
	r := <-done
	return r.conn, r.err
}
