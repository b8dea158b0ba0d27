package playcli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

func init() {
	register("down", command{summary: "stop and remove exactly what `play FILE` created", run: runDown})
}

func runDown(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("down", "[flags] FILE|DIR|-")
	f := addPlayFlags(fs)
	if err := cli.Parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: dockerlet down FILE|DIR|-")
	}
	source := fs.Arg(0)
	if source != "-" {
		abs, err := filepath.Abs(source)
		if err != nil {
			return err
		}
		source = abs
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
	if err := pod.Down(dctx, env.cfg, store, a.SourceID, supervisorRunning(store)); err != nil {
		return err
	}
	for _, p := range a.Pods {
		fmt.Printf("pod/%s deleted\n", p.Name)
	}
	if rest, err := store.ListApplied(); err == nil && len(rest) == 0 {
		stopDaemon(store) // nothing left to supervise
	}
	return nil
}
