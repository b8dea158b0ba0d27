package testutil

import (
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/dockerlet/dockerlet/internal/pod/localimage"
)

// BusyboxPath is Debian's busybox-static binary.
const BusyboxPath = localimage.DefaultBusyboxPath

// ImageOptions varies a test image.
type ImageOptions struct {
	// Marker adds an empty file /<Marker> so that images built with
	// different markers are distinct images.
	Marker string
	// Cmd is the image's default command; nil means ["sh"].
	Cmd []string
	// User is the image's USER.
	User string
	// Labels are image labels.
	Labels map[string]string
}

// The test images' account files: more users and groups than the play
// image's, as in the upstream busybox image.
const (
	testPasswd = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
	testGroup  = "root:x:0:\ndaemon:x:1:\nwheel:x:10:root\nwww-data:x:33:\nnogroup:x:65534:\n"
)

var (
	baseOnce  sync.Once
	baseLayer v1.Layer
	baseErr   error
)

// busyboxLayer is localimage's busybox layer (busybox-static, every applet
// hard-linked in /bin) with the test images' account files, built once.
func busyboxLayer() (v1.Layer, error) {
	baseOnce.Do(func() {
		l, err := localimage.BusyboxLayer(BusyboxPath)
		if err != nil {
			baseErr = err
			return
		}
		l.Text("etc/passwd", testPasswd)
		l.Text("etc/group", testGroup)
		baseLayer, baseErr = l.Build()
	})
	return baseLayer, baseErr
}

// BusyboxImage builds the busybox test image with opts.
func BusyboxImage(opts ImageOptions) (v1.Image, error) {
	base, err := busyboxLayer()
	if err != nil {
		return nil, err
	}
	layers := []v1.Layer{base}
	if opts.Marker != "" {
		ml := localimage.NewLayer()
		ml.File(opts.Marker, 0o644, nil)
		marker, err := ml.Build()
		if err != nil {
			return nil, err
		}
		layers = append(layers, marker)
	}
	cmd := opts.Cmd
	if cmd == nil {
		cmd = []string{"sh"}
	}
	return localimage.ImageOf(v1.Config{Cmd: cmd, User: opts.User, Labels: opts.Labels}, layers...)
}

// Push writes img to the registry as repoTag ("name:tag") and returns the
// full reference "<host>/<repoTag>".
func (r *Registry) Push(t testing.TB, repoTag string, img v1.Image) string {
	t.Helper()
	ref, tag, auth := r.target(t, repoTag)
	if err := remote.Write(tag, img, auth); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}

// target is where a push of repoTag goes, with the registry's credential.
func (r *Registry) target(t testing.TB, repoTag string) (string, name.Reference, remote.Option) {
	t.Helper()
	ref := r.Ref(repoTag)
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatalf("parse %q: %v", ref, err)
	}
	auth := authn.Anonymous
	if r.User != "" {
		auth = &authn.Basic{Username: r.User, Password: r.Password}
	}
	return ref, tag, remote.WithAuth(auth)
}

// PushBusybox builds the busybox image with opts and pushes it as repoTag.
func (r *Registry) PushBusybox(t testing.TB, repoTag string, opts ImageOptions) string {
	t.Helper()
	img, err := BusyboxImage(opts)
	if err != nil {
		t.Fatalf("build busybox image: %v", err)
	}
	return r.Push(t, repoTag, img)
}

// PushMultiPlatform pushes an image index as repoTag: the busybox image
// with opts for linux/amd64, and a variant with another marker labelled
// linux/arm64 (never run; it only has to be a different manifest). It
// returns the reference and the index's digest.
func (r *Registry) PushMultiPlatform(t testing.TB, repoTag string, opts ImageOptions) (string, string) {
	t.Helper()
	amd, err := BusyboxImage(opts)
	if err != nil {
		t.Fatalf("build busybox image: %v", err)
	}
	armOpts := opts
	armOpts.Marker = opts.Marker + "-arm64"
	arm, err := BusyboxImage(armOpts)
	if err != nil {
		t.Fatalf("build busybox image: %v", err)
	}
	cf, err := arm.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	if arm, err = mutate.ConfigFile(arm, cf); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref, tag, auth := r.target(t, repoTag)
	if err := remote.WriteIndex(tag, idx, auth); err != nil {
		t.Fatalf("push index %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref, d.String()
}
