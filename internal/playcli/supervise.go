package playcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

func init() {
	register("supervise", command{summary: "run the play supervisor in the foreground (what play -d starts; for a systemd unit)", run: runSupervise})
}

func runSupervise(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("supervise", "[flags]")
	f := addPlayFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	store := pod.Store{Dir: f.stateDir}
	lock, ok, err := lockSupervisor(store)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("a supervisor already runs for " + f.stateDir)
	}
	defer lock.Unlock()
	if err := os.WriteFile(store.PidFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(store.PidFile())
	env, err := openPlayEnv(ctx, f)
	if err != nil {
		return err
	}
	defer env.Close()
	env.takeOver(ctx)
	env.logger.Info("play supervisor running", "state", f.stateDir, "pid", os.Getpid())
	// The pods keep running when the supervisor stops; a new one adopts
	// them from the state and the CRI.
	return pod.NewSupervisor(env.cfg, store, nil).Run(ctx)
}
