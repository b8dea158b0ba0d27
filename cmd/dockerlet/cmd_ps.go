package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

func init() {
	register("ps", command{summary: "list the containers dockerlet manages", run: runPs})
}

func runPs(ctx context.Context, args []string) error {
	var tf toolFlags
	fs := cli.NewFlagSet("ps", "[flags]")
	tf.register(fs)
	running := fs.Bool("running", false, "only running containers")
	prefix := fs.String("name-prefix", naming.DefaultPrefix, "container name prefix dockerlet uses")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	log := toolLogger()
	eng, closeEngine, err := tf.openEngine(log)
	if err != nil {
		return err
	}
	defer func() { _ = closeEngine() }()
	rows, err := listManaged(ctx, eng, naming.New(*prefix), !*running)
	if err != nil {
		return err
	}
	return printPs(os.Stdout, rows)
}

// psRow is one managed container with its parsed name.
type psRow struct {
	ID    string
	Name  naming.Name
	State string
	Image string
}

// listManaged returns the containers dockerlet manages: they must carry
// the managed label AND a name that parses under the prefix. A user's
// own containers, whatever they are called, never show up.
func listManaged(ctx context.Context, eng engine.Engine, nm naming.Namer, all bool) ([]psRow, error) {
	cs, err := eng.ListContainers(ctx, engine.ListOptions{All: all, Labels: []string{naming.ManagedLabelFilter}})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var rows []psRow
	for _, c := range cs {
		if c.Labels[naming.LabelManaged] != "true" || len(c.Names) == 0 {
			continue
		}
		n, err := nm.Parse(c.Names[0])
		if err != nil {
			continue
		}
		rows = append(rows, psRow{ID: c.ID, Name: n, State: stateOf(c), Image: c.Image})
	}
	slices.SortFunc(rows, func(x, y psRow) int {
		a, b := x.Name, y.Name
		return cmp.Or(
			cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Pod, b.Pod),
			cmp.Compare(a.Container, b.Container),
			cmp.Compare(a.Attempt, b.Attempt),
		)
	})
	return rows, nil
}

func stateOf(c container.Summary) string {
	if c.State != "" {
		return string(c.State)
	}
	return c.Status
}

func printPs(w io.Writer, rows []psRow) error {
	tw := tabwriter.NewWriter(cli.SafeWriter(w), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tNAMESPACE\tPOD\tCONTAINER\tATTEMPT\tSTATE\tIMAGE")
	for _, r := range rows {
		id := strings.TrimPrefix(r.ID, "sha256:")
		if len(id) > 12 {
			id = id[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", cli.SafeText(id), cli.SafeText(r.Name.Namespace), cli.SafeText(r.Name.Pod), cli.SafeText(r.Name.Container), r.Name.Attempt, cli.SafeText(r.State), cli.SafeText(r.Image))
	}
	return tw.Flush()
}
