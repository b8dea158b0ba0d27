package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
)

var hexPrefix = regexp.MustCompile(`^[a-f0-9]{1,64}$`)

// pullable is an image the test allowed PullImage to fetch.
type pullable struct {
	ref string // normalised reference
	img *image.InspectResponse
}

// normalize returns the fully qualified form of ref with ":latest" added
// when it has neither tag nor digest.
func normalize(ref string) (reference.Named, error) {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, err
	}
	return reference.TagNameOnly(n), nil
}

// familiar is Docker's short form of a stored tag or digest ("busybox:latest").
func familiar(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(n)
}

func sameRef(a, b string) bool {
	na, err1 := normalize(a)
	nb, err2 := normalize(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return na.String() == nb.String()
}

func fullID(id string) string {
	if strings.HasPrefix(id, "sha256:") {
		return id
	}
	return "sha256:" + id
}

// AddImage stores img as a present image and returns its ID. A missing ID
// is derived from the tags and digests. Tags are stored in Docker's
// familiar form and move from any other image that carried them.
func (f *Fake) AddImage(img image.InspectResponse) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addImageLocked(img)
}

func (f *Fake) addImageLocked(img image.InspectResponse) string {
	img = clone(img)
	if img.ID == "" {
		sum := sha256.Sum256([]byte(strings.Join(append(slices.Clone(img.RepoTags), img.RepoDigests...), ",")))
		img.ID = "sha256:" + hex.EncodeToString(sum[:])
	}
	img.ID = fullID(img.ID)
	if img.Os == "" {
		img.Os = "linux"
	}
	if img.Architecture == "" {
		img.Architecture = "amd64"
	}
	if img.Created == "" {
		img.Created = f.Now().UTC().Format(time.RFC3339Nano)
	}
	if img.RootFS.Type == "" {
		img.RootFS.Type = "layers"
	}
	if img.Config == nil {
		// Docker always returns an image config.
		img.Config = &dockerspec.DockerOCIImageConfig{}
	}
	tags := img.RepoTags
	img.RepoTags = nil
	for i, d := range img.RepoDigests {
		img.RepoDigests[i] = familiar(d)
	}
	if old, ok := f.images[img.ID]; ok {
		// Re-adding an image merges names, as a second pull does.
		for _, d := range old.RepoDigests {
			if !slices.Contains(img.RepoDigests, d) {
				img.RepoDigests = append(img.RepoDigests, d)
			}
		}
		img.RepoTags = old.RepoTags
	}
	f.images[img.ID] = &img
	for _, t := range tags {
		f.tagLocked(&img, t)
	}
	return img.ID
}

// tagLocked gives img the tag t, taking it from any other image.
func (f *Fake) tagLocked(img *image.InspectResponse, t string) {
	t = familiar(t)
	for _, other := range f.images {
		other.RepoTags = slices.DeleteFunc(other.RepoTags, func(x string) bool { return sameRef(x, t) })
	}
	img.RepoTags = append(img.RepoTags, t)
}

// imageLocked resolves an image reference as Docker does: "sha256:" IDs
// and ID prefixes, tags and digests (normalised, so "busybox" matches
// "docker.io/library/busybox:latest").
func (f *Fake) imageLocked(ref string) (*image.InspectResponse, error) {
	if strings.HasPrefix(ref, "sha256:") {
		if img, ok := f.images[ref]; ok {
			return img, nil
		}
		return f.idPrefixLocked(ref)
	}
	if n, err := normalize(ref); err == nil {
		want := n.String()
		for _, img := range f.images {
			names := img.RepoTags
			if _, ok := n.(reference.Digested); ok {
				names = img.RepoDigests
			}
			for _, t := range names {
				if got, err := normalize(t); err == nil && got.String() == want {
					return img, nil
				}
			}
		}
	}
	if hexPrefix.MatchString(ref) {
		return f.idPrefixLocked("sha256:" + ref)
	}
	return nil, notFound("no such image: %s", ref)
}

func (f *Fake) idPrefixLocked(prefix string) (*image.InspectResponse, error) {
	var found *image.InspectResponse
	for id, img := range f.images {
		if strings.HasPrefix(id, prefix) {
			if found != nil {
				return nil, invalid("multiple image IDs found with provided prefix: %s", prefix)
			}
			found = img
		}
	}
	if found == nil {
		return nil, notFound("no such image: %s", prefix)
	}
	return found, nil
}

// InspectImageByRef implements engine.Engine.
func (f *Fake) InspectImageByRef(ctx context.Context, ref string) (*image.InspectResponse, error) {
	if err := f.enter(ctx, "InspectImageByRef"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.imageLocked(ref)
	if err != nil {
		return nil, err
	}
	return new(clone(*img)), nil
}

// InspectImageByID implements engine.Engine: only a full ID, with or
// without "sha256:", matches.
func (f *Fake) InspectImageByID(ctx context.Context, id string) (*image.InspectResponse, error) {
	if err := f.enter(ctx, "InspectImageByID"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[fullID(id)]
	if !ok {
		return nil, notFound("no such image: %s", id)
	}
	return new(clone(*img)), nil
}

// ListImages implements engine.Engine. The reference filter is a glob on
// the familiar name, or on "name:tag" when it has a tag, as in Docker.
func (f *Fake) ListImages(ctx context.Context, opts engine.ImageListOptions) ([]image.Summary, error) {
	if err := f.enter(ctx, "ListImages"); err != nil {
		return nil, err
	}
	if opts.Reference != "" {
		if _, err := path.Match(opts.Reference, ""); err != nil {
			return nil, invalid("bad reference filter %q: %v", opts.Reference, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []image.Summary
	for _, img := range f.images {
		if opts.Reference != "" && !matchRefFilter(opts.Reference, img) {
			continue
		}
		out = append(out, summarize(img))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func matchRefFilter(pattern string, img *image.InspectResponse) bool {
	for _, t := range append(slices.Clone(img.RepoTags), img.RepoDigests...) {
		n, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			continue
		}
		subject := reference.FamiliarName(n)
		if strings.ContainsAny(pattern, ":@") {
			subject = reference.FamiliarString(n)
		}
		if ok, _ := path.Match(pattern, subject); ok {
			return true
		}
	}
	return false
}

func summarize(img *image.InspectResponse) image.Summary {
	s := image.Summary{
		ID:          img.ID,
		RepoTags:    slices.Clone(img.RepoTags),
		RepoDigests: slices.Clone(img.RepoDigests),
		Size:        img.Size,
		Containers:  -1,
		SharedSize:  -1,
	}
	if t, err := time.Parse(time.RFC3339Nano, img.Created); err == nil {
		s.Created = t.Unix()
	}
	if img.Config != nil {
		s.Labels = clone(img.Config.Labels)
	}
	return s
}

// TagImage implements engine.Engine.
func (f *Fake) TagImage(ctx context.Context, source, target string) error {
	if err := f.enter(ctx, "TagImage"); err != nil {
		return err
	}
	n, err := reference.ParseNormalizedNamed(target)
	if err != nil {
		return invalid("tag %q: %v", target, err)
	}
	if _, ok := n.(reference.Digested); ok {
		return invalid("tag %q: refusing to create a tag with a digest reference", target)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.imageLocked(source)
	if err != nil {
		return err
	}
	f.tagLocked(img, reference.TagNameOnly(n).String())
	return nil
}

// RemoveImage implements engine.Engine. Removing one of several tags only
// untags; deleting an image used by a container is a conflict (a stopped
// one may be forced away, a running one never), as in Docker.
func (f *Fake) RemoveImage(ctx context.Context, ref string, opts engine.ImageRemoveOptions) ([]image.DeleteResponse, error) {
	if err := f.enter(ctx, "RemoveImage"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.imageLocked(ref)
	if err != nil {
		return nil, err
	}
	byTag := false
	if !strings.HasPrefix(ref, "sha256:") {
		byTag = slices.ContainsFunc(img.RepoTags, func(t string) bool { return sameRef(t, ref) })
	}
	if byTag && len(img.RepoTags) > 1 {
		var untagged string
		img.RepoTags = slices.DeleteFunc(img.RepoTags, func(t string) bool {
			if sameRef(t, ref) {
				untagged = t
				return true
			}
			return false
		})
		return []image.DeleteResponse{{Untagged: untagged}}, nil
	}
	if !byTag && len(img.RepoTags) > 1 && !opts.Force {
		return nil, conflict("unable to delete %s (must be forced) - image is referenced in multiple repositories", ref)
	}
	for _, c := range f.containers {
		if c.imageID != img.ID {
			continue
		}
		if c.state.Running {
			return nil, conflict("unable to delete %s (cannot be forced) - image is being used by running container %s", ref, c.id[:12])
		}
		if !opts.Force {
			return nil, conflict("unable to delete %s (must be forced) - image is being used by stopped container %s", ref, c.id[:12])
		}
	}
	var out []image.DeleteResponse
	for _, t := range append(slices.Clone(img.RepoTags), img.RepoDigests...) {
		out = append(out, image.DeleteResponse{Untagged: t})
	}
	out = append(out, image.DeleteResponse{Deleted: img.ID})
	delete(f.images, img.ID)
	delete(f.history, img.ID)
	return out, nil
}

// SetImageHistory sets what ImageHistory returns for an image.
func (f *Fake) SetImageHistory(id string, items []image.HistoryResponseItem) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.history[fullID(id)] = clone(items)
}

// ImageHistory implements engine.Engine. Without SetImageHistory, it
// reports one entry per layer, newest first, as Docker does for a pulled
// image (only the top entry carries the ID).
func (f *Fake) ImageHistory(ctx context.Context, id string) ([]image.HistoryResponseItem, error) {
	if err := f.enter(ctx, "ImageHistory"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.imageLocked(id)
	if err != nil {
		return nil, err
	}
	if h, ok := f.history[img.ID]; ok {
		return clone(h), nil
	}
	var created int64
	if t, err := time.Parse(time.RFC3339Nano, img.Created); err == nil {
		created = t.Unix()
	}
	n := max(len(img.RootFS.Layers), 1)
	out := make([]image.HistoryResponseItem, n)
	for i := range out {
		out[i] = image.HistoryResponseItem{ID: "<missing>", Created: created, CreatedBy: fmt.Sprintf("fake layer %d", n-i)}
	}
	out[0].ID = img.ID
	out[0].Tags = slices.Clone(img.RepoTags)
	out[0].Size = img.Size
	return out, nil
}
