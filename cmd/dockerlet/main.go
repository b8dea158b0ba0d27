// Command dockerlet runs Kubernetes pods on Docker Engine: as a CRI server
// (serve), as a one-host pod runner (play), and as a small engine toolkit
// (pull, ps, logs, version).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/dockerlet/dockerlet/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…"; without
// it, buildVersion derives one from what the go command recorded.
var version = "dev"

// command is one subcommand. Each lives in its own cmd_<name>.go file and
// registers itself in commands from an init function.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
	// hidden commands (docs-flags, for the build) are left out of the
	// usage and the completion scripts.
	hidden bool
}

var commands = map[string]command{}

func register(name string, c command) { commands[name] = c }

func main() {
	version = buildVersion(version)
	os.Exit(run(os.Args[1:]))
}

// run is the command line's dispatch; it returns the exit status: 0 for
// help and --version, 2 for a usage error, the command's status otherwise.
func run(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(os.Stdout)
		return 0
	case "-version", "--version":
		printOwnVersion(os.Stdout)
		return 0
	case "help":
		if len(args) == 1 {
			usage(os.Stdout)
			return 0
		}
		// `help CMD` is `CMD --help`: the command's own flags.
		args = []string{args[1], "--help"}
	}
	name := args[0]
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "dockerlet: unknown command %q\n\n", cli.SafeText(name))
		usage(os.Stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case isFlagError(err):
		fmt.Fprintf(os.Stderr, "dockerlet %s: %s\nsee: dockerlet help %s\n", name, cli.SafeLines(err.Error()), name)
		return 2
	}
	fmt.Fprintf(os.Stderr, "dockerlet %s: %s\n", name, cli.SafeLines(err.Error()))
	return exitCode(err)
}

// isFlagError reports whether err is the flag package's complaint about
// the command line (an unknown flag, a bad value), which it returns as an
// unwrapped error from Parse.
func isFlagError(err error) bool {
	var fe cli.FlagError
	return errors.As(err, &fe)
}

// exitCoder lets a command choose its exit status (play --wait does).
type exitCoder interface{ ExitCode() int }

func exitCode(err error) int {
	if ec, ok := err.(exitCoder); ok {
		return ec.ExitCode()
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: dockerlet COMMAND [flags]\n       dockerlet help COMMAND   (its flags)\n       dockerlet --version\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}
