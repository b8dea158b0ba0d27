package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// ignoreHangups keeps SIGHUP from ending the server until the returned
// function is called (when serve returns, after its graceful stop). The
// default action of SIGHUP is to exit, and an operator's or a tool's
// `kill -HUP` must never take a node's runtime down. serve has nothing to
// reload: its flags apply at start and it logs to stderr (the journal
// under systemd), so there is no file to reopen. Each SIGHUP is logged so
// that whoever sent it sees what it did.
func ignoreHangups(logger *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				logger.Info("SIGHUP received and ignored: serve has nothing to reload; restart it to change its flags")
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
