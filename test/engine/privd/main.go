// Command privd runs one private Docker daemon (internal/testutil/privdockerd)
// for a script: test/engine/run.sh starts it, waits for the env file, runs a
// suite with DOCKER_HOST pointing at the daemon, then stops it with SIGTERM,
// which removes everything the daemon made.
//
//	privd -env FILE [-live-restore] [-cgroup-driver systemd] [-arg DOCKERD-FLAG]...
//
// The engine and image store come from DOCKERLET_ENGINE and
// DOCKERLET_IMAGE_STORE. FILE gets DOCKER_HOST=..., DOCKERLET_DOCKERD_LOG=...
// and DOCKERLET_DOCKERD_BRIDGE=... lines once the daemon answers. The
// systemd test node (test/systemd/node.sh) runs it as a systemd service
// with -cgroup-driver systemd.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
)

func main() {
	envFile := flag.String("env", "", "file to write DOCKER_HOST=... to when the daemon answers")
	live := flag.Bool("live-restore", false, "run the daemon with --live-restore")
	driver := flag.String("cgroup-driver", "", "Docker's cgroup driver: cgroupfs (default) or systemd")
	var args argList
	flag.Var(&args, "arg", "an extra dockerd flag (repeatable)")
	flag.Parse()
	if *envFile == "" {
		fmt.Fprintln(os.Stderr, "privd: -env FILE is required")
		os.Exit(2)
	}
	os.Exit(run(*envFile, privdockerd.Options{LiveRestore: *live, CgroupDriver: *driver, Args: args}))
}

type argList []string

func (a *argList) String() string     { return fmt.Sprint(*a) }
func (a *argList) Set(v string) error { *a = append(*a, v); return nil }

func run(envFile string, opts privdockerd.Options) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	d, err := privdockerd.Launch(ctx, opts, func(f string, a ...any) {
		slog.Info(fmt.Sprintf(f, a...))
	})
	cancel()
	defer func() {
		if d == nil {
			return
		}
		if err := d.Close(); err != nil {
			slog.Error("privd: clean-up", "err", err)
		}
	}()
	if err != nil {
		slog.Error("privd: start", "err", err)
		return 1
	}
	body := fmt.Sprintf("DOCKER_HOST=%s\nDOCKERLET_DOCKERD_LOG=%s\nDOCKERLET_DOCKERD_BRIDGE=%s\n", d.Host, d.LogPath, d.Bridge)
	if err := os.WriteFile(envFile+".tmp", []byte(body), 0o600); err != nil {
		slog.Error("privd", "err", err)
		return 1
	}
	if err := os.Rename(envFile+".tmp", envFile); err != nil {
		slog.Error("privd", "err", err)
		return 1
	}
	slog.Info("privd: daemon up", "host", d.Host, "engine", d.Engine, "imageStore", d.ImageStore, "log", d.LogPath)
	<-sigs
	return 0
}
