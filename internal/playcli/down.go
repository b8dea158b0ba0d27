package playcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

func init() {
	register("down", command{summary: "stop and remove exactly what `play FILE` created", run: runDown})
}

func runDown(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("down", "[flags] FILE|DIR|-")
	f := addPlayFlags(fs)
	name := fs.String("name", "", "remove what `play --name NAME -` (or a play from stdin derived as NAME) created")
	grace := fs.Int("grace-period", -1, "seconds each pod gets to stop, instead of its terminationGracePeriodSeconds (-1: the pod's)")
	force := fs.Bool("force", false, "kill at once: no preStop hooks, no grace period (unless --grace-period is given)")
	volumes := fs.Bool("volumes", false, "remove the PersistentVolumeClaims' data too (kept by default, for the next play)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	source, err := downSource(fs, *name)
	if err != nil {
		return err
	}
	opts := pod.DownOptions{Volumes: *volumes}
	switch {
	case *grace >= 0:
		d := time.Duration(*grace) * time.Second
		opts.Grace = &d
	case *force:
		d := time.Duration(0)
		opts.Grace = &d
	}
	store := pod.Store{Dir: f.stateDir}
	a, err := store.LoadApplied(pod.SourceID(source))
	if err != nil {
		return err
	}
	if a == nil {
		return fmt.Errorf("nothing was played from %s (state: %s)", source, f.stateDir)
	}
	env, err := openPlayEnv(ctx, f)
	if err != nil {
		return err
	}
	defer env.Close()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	opts.Supervised = supervisorRunning(store)
	if err := pod.Down(dctx, env.cfg, store, a.SourceID, opts); err != nil {
		return err
	}
	for _, p := range a.Pods {
		fmt.Printf("pod/%s deleted\n", p.Name)
	}
	for _, d := range a.Deployments {
		fmt.Printf("deployment.apps/%s deleted\n", d.Name)
	}
	for _, j := range a.Jobs {
		fmt.Printf("job.batch/%s deleted\n", j.Name)
	}
	if rest, err := store.ListApplied(); err == nil && len(rest) == 0 {
		stopDaemon(store) // nothing left to supervise
	}
	return nil
}

// downSource is the source down removes: a file or directory's absolute
// path, or for stdin "stdin:NAME" (--name, a stdin:NAME argument, or the
// name derived from the manifest read from stdin again).
func downSource(fs *pflag.FlagSet, name string) (string, error) {
	switch {
	case name != "" && fs.NArg() <= 1 && (fs.NArg() == 0 || fs.Arg(0) == "-"):
		return pod.StdinPrefix + name, nil
	case fs.NArg() != 1 || name != "":
		return "", errors.New("usage: dockerlet down [--grace-period N] [--force] [--volumes] FILE|DIR|- | --name NAME")
	case strings.HasPrefix(fs.Arg(0), pod.StdinPrefix):
		return fs.Arg(0), nil
	case fs.Arg(0) == "-":
		m, err := pod.Load("-", os.Stdin)
		if err != nil {
			return "", err
		}
		if err := m.NameStdin(""); err != nil {
			return "", err
		}
		return m.Source, nil
	}
	return filepath.Abs(fs.Arg(0))
}
