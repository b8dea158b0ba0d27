package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

func init() {
	register("ps", command{summary: "list the pods' containers, as crictl ps does (running ones; -a: all)", run: runPs})
}

// psOptions say which managed containers ps lists.
type psOptions struct {
	all bool // exited and created ones too
	// rootDir is the instance whose containers are listed (serve's
	// --root-directory, play's <state-dir>/cri); "" lists every
	// instance's.
	rootDir string
}

func runPs(ctx context.Context, args []string) error {
	var tf toolFlags
	fs := cli.NewFlagSet("ps", "[flags]")
	tf.register(fs)
	all := fs.BoolP("all", "a", false, "all containers, not only running ones")
	quiet := fs.BoolP("quiet", "q", false, "print only the container IDs")
	rootDir := fs.String("root-directory", "/var/lib/dockerlet", "list the containers of the instance with this root directory (serve's --root-directory; play's is <state-dir>/cri)")
	allInstances := fs.Bool("all-instances", false, "list the containers of every dockerlet instance on this engine, and those made before containers carried their instance")
	running := fs.Bool("running", false, "only running containers (the default)")
	_ = fs.MarkHidden("running")
	prefix := fs.String("name-prefix", naming.DefaultPrefix, "container name prefix dockerlet uses")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts := psOptions{all: *all && !*running}
	if !*allInstances {
		dir, err := filepath.Abs(*rootDir)
		if err != nil {
			return fmt.Errorf("--root-directory: %w", err)
		}
		opts.rootDir = dir
	}
	log := toolLogger()
	eng, closeEngine, err := tf.openEngine(log)
	if err != nil {
		return err
	}
	defer func() { _ = closeEngine() }()
	rows, err := listManaged(ctx, eng, naming.New(*prefix), opts)
	if err != nil {
		return err
	}
	if *quiet {
		for _, r := range rows {
			fmt.Fprintln(os.Stdout, cli.SafeText(r.ID))
		}
		return nil
	}
	return printPs(os.Stdout, rows, time.Now())
}

// psRow is one managed container with its parsed name.
type psRow struct {
	ID        string
	SandboxID string
	Name      naming.Name
	State     string
	Image     string
	Created   time.Time
}

// listManaged returns the pods' containers dockerlet manages (not the
// sandboxes' pause containers, which crictl pods lists): they must carry
// the managed label AND a name that parses under the prefix, so a user's
// own containers, whatever they are called, never show up.
func listManaged(ctx context.Context, eng engine.Engine, nm naming.Namer, opts psOptions) ([]psRow, error) {
	labels := []string{naming.ManagedLabelFilter}
	if opts.rootDir != "" {
		labels = append(labels, naming.LabelRootDir+"="+opts.rootDir)
	}
	cs, err := eng.ListContainers(ctx, engine.ListOptions{All: opts.all, Labels: labels})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var rows []psRow
	for _, c := range cs {
		if c.Labels[naming.LabelManaged] != "true" || len(c.Names) == 0 || c.Labels[naming.LabelType] == naming.TypeSandbox {
			continue
		}
		if opts.rootDir != "" && c.Labels[naming.LabelRootDir] != opts.rootDir {
			continue
		}
		n, err := nm.Parse(c.Names[0])
		if err != nil || n.Container == naming.SandboxContainerName {
			continue
		}
		rows = append(rows, psRow{ID: c.ID, SandboxID: c.Labels[naming.LabelSandboxID], Name: n, State: stateOf(c), Image: imageOf(c), Created: createdAt(c)})
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

// stateOf is the container's CRI state, as crictl names it.
func stateOf(c container.Summary) string {
	switch c.State {
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		return "Running"
	case container.StateExited, container.StateDead:
		return "Exited"
	case container.StateCreated:
		return "Created"
	}
	return "Unknown"
}

// imageOf is the image as the pod named it (what the container's CRI
// status reports), else as Docker has it, an id shortened as crictl does.
func imageOf(c container.Summary) string {
	for _, l := range []string{naming.LabelUserImage, naming.LabelImage} {
		if v := c.Labels[l]; v != "" {
			return v
		}
	}
	if strings.HasPrefix(c.Image, "sha256:") {
		return shortID(c.Image)
	}
	return c.Image
}

// createdAt is the CRI creation time (its label, in nanoseconds), or
// Docker's, to the second.
func createdAt(c container.Summary) time.Time {
	if ns, err := strconv.ParseInt(c.Labels[naming.LabelCreated], 10, 64); err == nil {
		return time.Unix(0, ns)
	}
	return time.Unix(c.Created, 0)
}

// shortID is an ID as crictl prints it: 13 characters.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 13 {
		id = id[:13]
	}
	return id
}

// printPs prints crictl ps's columns, and the pod's namespace last as
// recent crictl does.
func printPs(w io.Writer, rows []psRow, now time.Time) error {
	tw := tabwriter.NewWriter(cli.SafeWriter(w), 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tIMAGE\tCREATED\tSTATE\tNAME\tATTEMPT\tPOD ID\tPOD\tNAMESPACE")
	for _, r := range rows {
		created := units.HumanDuration(now.Sub(r.Created)) + " ago"
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", cli.SafeText(shortID(r.ID)), cli.SafeText(r.Image), created, r.State,
			cli.SafeText(r.Name.Container), r.Name.Attempt, cli.SafeText(shortID(r.SandboxID)), cli.SafeText(r.Name.Pod), cli.SafeText(r.Name.Namespace))
	}
	return tw.Flush()
}
