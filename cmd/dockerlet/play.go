//go:build !noplay

package main

import "github.com/dockerlet/dockerlet/internal/playcli"

// Play's commands (play, get, describe, logs, exec, down, supervise); the
// serve-only build (make build-serve, tag noplay) leaves them and the
// Kubernetes API packages they need out.
func init() {
	for _, c := range playcli.Commands(version) {
		register(c.Name, command{summary: c.Summary, run: c.Run})
	}
}
