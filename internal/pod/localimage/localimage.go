// Package localimage builds the small images `dockerlet play` needs on a
// machine that cannot pull anything: a busybox image for the shipped
// examples and a pause image for pod sandboxes, both FROM scratch around
// the host's static busybox (Debian's busybox-static), loaded into Docker
// through its image-load API.
package localimage

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	layer, err := busyboxLayer(busyboxPath)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
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
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Labels = map[string]string{naming.LabelLocalImage: "true"}
	switch {
	case strings.HasPrefix(ref, "dockerlet.local/pause"):
		cf.Config.Cmd = []string{"/bin/sh", "-c", pauseScript}
	default:
		cf.Config.Cmd = []string{"sh"}
	}
	return mutate.ConfigFile(img, cf)
}

// busyboxLayer is a layer with the static busybox, every applet
// hard-linked in /bin, a minimal /etc and a 1777 /tmp. It is byte-for-byte
// reproducible, so the image ID is stable across builds.
func busyboxLayer(path string) (v1.Layer, error) {
	if path == "" {
		path = DefaultBusyboxPath
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s (install busybox-static): %w", path, err)
	}
	if !isStatic(bin) {
		return nil, fmt.Errorf("%s is not statically linked (install busybox-static)", path)
	}
	out, err := exec.Command(path, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", path, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(0, 0)
	hdr := func(h *tar.Header) error { h.ModTime = mt; h.Format = tar.FormatPAX; return tw.WriteHeader(h) }
	for _, d := range []struct {
		name string
		mode int64
	}{{"bin/", 0o755}, {"etc/", 0o755}, {"tmp/", 0o1777}, {"root/", 0o700}, {"var/", 0o755}, {"var/run/", 0o755}, {"proc/", 0o755}, {"sys/", 0o755}, {"dev/", 0o755}} {
		if err := hdr(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode}); err != nil {
			return nil, err
		}
	}
	if err := hdr(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := hdr(&tar.Header{Typeflag: tar.TypeLink, Name: "bin/" + applet, Linkname: "bin/busybox", Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	files := []struct{ name, body string }{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"},
		{"etc/group", "root:x:0:\nnogroup:x:65534:\n"},
	}
	for _, f := range files {
		if err := hdr(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.body))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// isStatic reports whether an ELF binary has no program interpreter (a
// dynamically linked busybox would not run FROM scratch).
func isStatic(b []byte) bool {
	return len(b) > 4 && string(b[:4]) == "\x7fELF" && !bytes.Contains(b[:min(len(b), 4096)], []byte("/lib64/ld-linux")) && !bytes.Contains(b[:min(len(b), 4096)], []byte("/lib/ld-linux"))
}
