// Package netns runs a function inside another network namespace.
package netns

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on an OS thread switched into the network namespace at
// nsPath and returns fn's error. Sockets keep the namespace they were
// created in, so a connection fn opens stays inside after the switch back.
func Do(nsPath string, fn func() error) error {
	target, err := os.Open(nsPath)
	if err != nil {
		return fmt.Errorf("open network namespace: %w", err)
	}
	defer target.Close()
	done := make(chan error, 1)
	// A fresh goroutine: if switching back fails, it exits still locked and
	// the Go runtime discards its thread instead of reusing it.
	go func() {
		runtime.LockOSThread()
		self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("open own network namespace: %w", err)
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("enter network namespace %s: %w", nsPath, err)
			return
		}
		err = fn()
		if restoreErr := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); restoreErr == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}
