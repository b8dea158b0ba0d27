package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/image"
	"github.com/dockerlet/dockerlet/internal/keyring"
)

func init() {
	register("pull", command{summary: "pull an image with pull secrets and the node's Docker credentials", run: runPull})
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
func (s *stringList) Type() string       { return "stringArray" }

type pullFlags struct {
	toolFlags
	secrets      stringList
	dockerConfig string
	quiet        bool
	image        string
}

func parsePullFlags(args []string) (*pullFlags, error) {
	f := &pullFlags{}
	fs := cli.NewFlagSet("pull", "[flags] IMAGE")
	f.register(fs)
	fs.Var(&f.secrets, "secret", "Kubernetes pull Secret (kubernetes.io/dockerconfigjson or dockercfg; JSON or YAML); repeatable, tried first")
	fs.StringVar(&f.dockerConfig, "docker-config", "", "directory holding config.json and/or .dockercfg (default: $DOCKER_CONFIG or ~/.docker, and ~/.dockercfg)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress; print only the image ID")
	if err := cli.Parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, errors.New("want exactly one IMAGE (dockerlet help pull)")
	}
	f.image = fs.Arg(0)
	return f, nil
}

func runPull(ctx context.Context, args []string) error {
	return pullMain(ctx, args, os.Stdout, os.Stderr, cli.IsTerminal(os.Stderr))
}

// pullMain pulls and prints the image ID on stdout; progress goes to
// stderr, as bars when tty is set.
func pullMain(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) error {
	f, err := parsePullFlags(args)
	if err != nil {
		return err
	}
	log := toolLogger()
	kr, err := buildKeyring(f, log)
	if err != nil {
		return err
	}
	creds, err := kr.Lookup(f.image)
	if err != nil {
		return err
	}
	eng, closeEngine, err := f.openEngine(log)
	if err != nil {
		return err
	}
	defer func() { _ = closeEngine() }()

	var progress func(engine.Progress)
	if !f.quiet {
		progress = cli.NewProgressView(stderr, tty).Update
		if len(creds) == 0 {
			fmt.Fprintf(stderr, "pulling %s without credentials\n", f.image)
		} else {
			fmt.Fprintf(stderr, "pulling %s with %d candidate credential(s)\n", f.image, len(creds))
		}
	}
	id, err := image.NewPuller(eng, log).Pull(ctx, f.image, creds, progress)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
}

// buildKeyring reads pull secrets first, then the node's Docker config.
func buildKeyring(f *pullFlags, log *slog.Logger) (*keyring.Keyring, error) {
	kr := keyring.New(log)
	for _, s := range f.secrets {
		if err := kr.AddSecretFile(s); err != nil {
			return nil, err
		}
	}
	if f.dockerConfig != "" {
		if err := kr.AddDockerConfigDir(f.dockerConfig); err != nil {
			return nil, err
		}
		return kr, nil
	}
	if err := kr.AddDefaultDockerConfig(); err != nil {
		// The node's own config is a convenience; a broken one should
		// not stop a pull that secrets or anonymity can serve.
		log.Warn("ignoring the default docker config", "error", err)
	}
	return kr, nil
}
