package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/engine"
)

func init() {
	register("version", command{summary: "print dockerlet's version and the engine's", run: runVersion})
}

func runVersion(ctx context.Context, args []string) error {
	var tf toolFlags
	fs := cli.NewFlagSet("version", "[flags]")
	tf.register(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	printOwnVersion(os.Stdout)
	eng, closeEngine, err := tf.openEngine(toolLogger())
	if err != nil {
		return err
	}
	defer func() { _ = closeEngine() }()
	return printEngineVersion(ctx, os.Stdout, eng)
}

func printOwnVersion(w io.Writer) {
	fmt.Fprintf(w, "dockerlet: %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// printEngineVersion prints the engine's version and the API version
// negotiated with it. dockerlet's own line is printed first, so that it
// shows even when the engine is unreachable.
func printEngineVersion(ctx context.Context, w io.Writer, eng engine.Engine) error {
	v, err := eng.Version(ctx)
	if err != nil {
		return fmt.Errorf("engine version: %w", err)
	}
	fmt.Fprintf(w, "engine:    %s (API %s negotiated; server API %s, minimum %s; %s/%s, kernel %s)\n",
		v.Version, v.APIVersion, v.ServerAPI, v.MinAPIVersion, v.Os, v.Arch, v.KernelVersion)
	return nil
}
