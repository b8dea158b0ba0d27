package main

import (
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/open"
)

// toolFlags are the flags every toolkit command (pull, ps, version) shares.
type toolFlags struct {
	dockerEndpoint string
}

func (t *toolFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.dockerEndpoint, "docker-endpoint", "", "Docker endpoint (default: DOCKER_HOST or unix:///var/run/docker.sock; fake:// for the in-memory engine)")
}

// openEngine opens the engine the flags name, with the engine's default
// timeouts. The returned function releases it.
func (t *toolFlags) openEngine(log *slog.Logger) (engine.Engine, func() error, error) {
	return open.Engine(t.dockerEndpoint, engine.Options{Logger: log})
}

// toolLogger is what the short-lived toolkit commands log with: warnings
// and errors to stderr, so that stdout stays clean for scripts.
func toolLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
