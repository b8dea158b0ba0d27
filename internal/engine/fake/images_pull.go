package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// Pulls: what a test allows to be pulled, with which credentials, and
// PullImage itself.

// AllowPull makes PullImage(ref) succeed. The pulled image is img (nil:
// a synthetic one); ref is added to its tags, or to its digests when ref
// is a digest reference.
func (f *Fake) AllowPull(ref string, img *image.InspectResponse) error {
	n, err := normalize(ref)
	if err != nil {
		return invalid("allow pull %q: %v", ref, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var cp *image.InspectResponse
	if img != nil {
		c := clone(*img)
		cp = &c
	}
	f.pullable = append(f.pullable, pullable{ref: n.String(), img: cp})
	return nil
}

// AllowAllPulls makes every well-formed pull succeed with a synthetic
// image (for demos on fake://).
func (f *Fake) AllowAllPulls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pullAny = true
}

// RequirePullAuth makes pulls of ref's repository fail with
// errdefs.ErrUnauthenticated unless PullOptions.Auth carries this username
// and password.
func (f *Fake) RequirePullAuth(ref, username, password string) error {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return invalid("require pull auth %q: %v", ref, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pullAuth[n.Name()] = auth{username, password}
	return nil
}

// PullImage implements engine.Engine. Only references allowed with
// AllowPull succeed; others fail with errdefs.ErrNotFound, as a registry
// without the repository does.
func (f *Fake) PullImage(ctx context.Context, ref string, opts engine.PullOptions) error {
	if err := f.enter(ctx, "PullImage"); err != nil {
		return err
	}
	n, err := normalize(ref)
	if err != nil {
		return invalid("pull %q: invalid reference format: %v", ref, err)
	}
	f.mu.Lock()
	if want, ok := f.pullAuth[n.Name()]; ok {
		a := opts.Auth
		if a == nil || a.Username != want.username || a.Password != want.password {
			f.mu.Unlock()
			return fmt.Errorf("pull %s: %w: authentication required", ref, errdefs.ErrUnauthenticated)
		}
	}
	var p *pullable
	for i := range f.pullable {
		if f.pullable[i].ref == n.String() {
			p = &f.pullable[i]
		}
	}
	if p == nil && f.pullAny {
		p = &pullable{ref: n.String()}
	}
	if p == nil {
		f.mu.Unlock()
		return fmt.Errorf("pull %s: manifest unknown: %w", ref, errdefs.ErrNotFound)
	}
	var img image.InspectResponse
	if p.img != nil {
		img = clone(*p.img)
	} else {
		sum := sha256.Sum256([]byte("image-" + n.String()))
		img.ID = "sha256:" + hex.EncodeToString(sum[:])
		img.Size = 1 << 20
	}
	if _, ok := n.(reference.Digested); ok {
		img.RepoDigests = append(img.RepoDigests, n.String())
	} else {
		img.RepoTags = append(img.RepoTags, n.String())
	}
	f.addImageLocked(img)
	f.mu.Unlock()

	if opts.Progress != nil {
		fam := reference.FamiliarString(n)
		opts.Progress(engine.Progress{Image: fam, Status: "Pulling from " + reference.FamiliarName(n)})
		opts.Progress(engine.Progress{Image: fam, Layer: "fakelayer", Status: "Downloading", Current: 1, Total: 1})
		opts.Progress(engine.Progress{Image: fam, Layer: "fakelayer", Status: "Pull complete"})
		opts.Progress(engine.Progress{Image: fam, Status: "Status: Downloaded newer image for " + fam})
	}
	return nil
}
