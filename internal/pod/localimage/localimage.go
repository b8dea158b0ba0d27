// Package localimage builds the small images `dockerlet play` needs on a
// machine that cannot pull anything: a busybox image for the shipped
// examples and a pause image for pod sandboxes, both FROM scratch around
// the host's static busybox (Debian's busybox-static), loaded into Docker
// through its image-load API. Its Layer and BusyboxLayer are also what
// the test images (internal/testutil) and the node e2e suite's images
// (test/nodeconf/images) are built from.
package localimage

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// The images dockerlet builds itself. The registry host "dockerlet.local"
// never resolves, so these names cannot be confused with pulled images.
const (
	Busybox = "dockerlet.local/busybox:latest"
	Pause   = "dockerlet.local/pause:latest"
)

// DefaultBusyboxPath is Debian's busybox-static binary.
const DefaultBusyboxPath = "/bin/busybox"

// pauseScript is PID 1 of the pause image: it sleeps until told to stop,
// and stops at once on SIGTERM (a bare sleep would ignore it as PID 1).
const pauseScript = `trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done`

// Loader loads a `docker save` tarball into the engine (Docker's
// POST /images/load).
type Loader interface {
	LoadImage(ctx context.Context, tarball io.Reader) error
}

// Presence tells whether an image reference is present in the engine.
type Presence func(ctx context.Context, ref string) (bool, error)

// Builder makes the local images on demand.
type Builder struct {
	Loader      Loader
	Present     Presence
	BusyboxPath string // DefaultBusyboxPath if empty

	mu sync.Mutex
}

// Is reports whether ref is one of the images this package builds.
func Is(ref string) bool {
	return ref == Busybox || ref == Pause || ref == "dockerlet.local/busybox" || ref == "dockerlet.local/pause"
}

// Ensure builds and loads image when it is one of ours and absent. It
// reports false (and does nothing) for any other image.
func (b *Builder) Ensure(ctx context.Context, image string) (bool, error) {
	if !Is(image) {
		return false, nil
	}
	ref := image
	if !strings.Contains(ref[strings.LastIndexByte(ref, '/'):], ":") {
		ref += ":latest"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Present != nil {
		ok, err := b.Present(ctx, ref)
		if err != nil {
			return true, err
		}
		if ok {
			return true, nil
		}
	}
	img, err := Image(b.BusyboxPath, ref)
	if err != nil {
		return true, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(Write(pw, ref, img)) }()
	err = b.Loader.LoadImage(ctx, pr)
	pr.CloseWithError(err)
	if err != nil {
		return true, fmt.Errorf("load %s into Docker: %w", ref, err)
	}
	return true, nil
}

// Write writes img as a `docker save` tarball tagged ref.
func Write(w io.Writer, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return tarball.Write(tag, img, w)
}

// Image builds the image for ref (Busybox or Pause).
func Image(busyboxPath, ref string) (v1.Image, error) {
	l, err := BusyboxLayer(busyboxPath)
	if err != nil {
		return nil, err
	}
	layer, err := l.Build()
	if err != nil {
		return nil, err
	}
	cfg := v1.Config{Labels: map[string]string{naming.LabelLocalImage: "true"}, Cmd: []string{"sh"}}
	if strings.HasPrefix(ref, "dockerlet.local/pause") {
		cfg.Cmd = []string{"/bin/sh", "-c", pauseScript}
	}
	return ImageOf(cfg, layer)
}

// pathEnv is the images' PATH, as in the upstream busybox image.
const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ImageOf is an image FROM scratch of layers with cfg, for this machine's
// architecture, created at the epoch (so the same layers and config give
// the same image ID), with the busybox image's PATH unless cfg sets Env.
func ImageOf(cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	if cfg.Env == nil {
		cfg.Env = []string{pathEnv}
	}
	cf.Config = cfg
	return mutate.ConfigFile(img, cf)
}
