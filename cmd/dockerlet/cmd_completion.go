package main

import (
	"context"
	"errors"
	"os"
	"slices"
	"sort"

	"github.com/dockerlet/dockerlet/internal/cli"
)

func init() {
	register("completion", command{summary: "print the bash, zsh or fish completion script (source <(dockerlet completion bash))", run: runCompletion})
}

func runCompletion(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("completion", "bash|zsh|fish")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.FlagError{Err: errors.New("want one shell: bash, zsh or fish")}
	}
	return cli.Completion(os.Stdout, "dockerlet", fs.Arg(0), commandTable(ctx))
}

// commandTable is every shown command with the flags its run function
// parses, and help; completion and the flag reference are made from it.
// Its order is the names' (sorted as strings, never as the table: an
// interface holding the table would keep every method of pflag's FlagSet
// in the binary, ~300 KiB).
func commandTable(ctx context.Context) []cli.CommandFlags {
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	cmdNames := slices.Clone(names)
	names = append(names, "help")
	sort.Strings(names)
	out := make([]cli.CommandFlags, 0, len(names))
	for _, n := range names {
		if n == "help" {
			out = append(out, cli.CommandFlags{Name: n, Summary: "a command's flags", Words: cmdNames})
			continue
		}
		c := commands[n]
		cf := cli.CommandFlags{Name: n, Summary: c.summary}
		cf.Flags = cli.CaptureFlags(func() error { return c.run(ctx, nil) })
		if n == "completion" {
			cf.Words = []string{"bash", "zsh", "fish"}
		}
		out = append(out, cf)
	}
	return out
}
