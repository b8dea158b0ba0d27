// Package playcli is `dockerlet play` and its kubectl-like commands (get,
// describe, logs, exec, down, supervise): Kubernetes manifests run by the
// pod runner (internal/pod) on the CRI service built in process as serve
// builds it (internal/node). The dockerlet command registers Commands;
// the serve-only build (tag noplay) leaves the package out.
package playcli

import "context"

// Command is one of play's subcommands.
type Command struct {
	Name, Summary string
	Run           func(ctx context.Context, args []string) error
}

var commands []Command

// version is dockerlet's, which the in-process CRI service reports.
var version = "dev"

// command and register keep each subcommand's registration in its own
// file, as the dockerlet command's are.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

func register(name string, c command) {
	commands = append(commands, Command{Name: name, Summary: c.summary, Run: c.run})
}

// Commands returns play's subcommands; v is dockerlet's version.
func Commands(v string) []Command {
	version = v
	return commands
}
