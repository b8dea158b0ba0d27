package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/dockerlet/dockerlet/internal/cli"
)

//go:generate sh -c "go run . docs-flags > ../../docs/flags.md"

func init() {
	register("docs-flags", command{summary: "print the flag reference (docs/flags.md)", run: runDocsFlags, hidden: true})
}

// flagsDocEnv are environment variables that change a flag's default:
// the reference shows the defaults without them.
var flagsDocEnv = []string{"DOCKERLET_PLAY_STATE_DIR"}

func runDocsFlags(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("docs-flags", "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	for _, k := range flagsDocEnv {
		_ = os.Unsetenv(k)
	}
	return writeFlagsDoc(ctx, os.Stdout)
}

func writeFlagsDoc(ctx context.Context, w io.Writer) error {
	var cmds []cli.CommandFlags
	for _, c := range commandTable(ctx) {
		if c.Name != "help" {
			cmds = append(cmds, c)
		}
	}
	fmt.Fprint(w, `# Flag reference

Generated from the commands' own flag sets by `+"`go generate ./cmd/dockerlet`"+`
(`+"`dockerlet docs-flags`"+`); a test fails when this file is stale.
`+"`dockerlet help COMMAND`"+` prints the same for one command.

Every flag takes `+"`--name value`"+` and `+"`--name=value`"+`; one-letter forms
combine (`+"`-it`"+`), and `+"`--`"+` ends the flags. The Go-style spellings
with one dash (`+"`-state-dir`"+`, `+"`-state-dir=DIR`"+`) are accepted too, so
command lines and unit files written for them keep working. A boolean flag
is set by its name alone, or `+"`--name=false`"+`. The node's build
(`+"`make build-serve`"+`) has `+"`serve`"+`, `+"`ps`"+`, `+"`pull`"+`, `+"`version`"+` and
`+"`completion`"+` only.
`)
	return cli.FlagsMarkdown(w, "dockerlet", cmds)
}
