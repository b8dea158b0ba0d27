package image

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// Inspector is the part of the engine that image resolution needs.
type Inspector interface {
	InspectImageByRef(ctx context.Context, ref string) (*image.InspectResponse, error)
	InspectImageByID(ctx context.Context, id string) (*image.InspectResponse, error)
}

var _ Inspector = engine.Engine(nil)

// Resolve finds the image that a CRI image spec (name, name:tag,
// name@digest or ID) names. The engine looks the reference up; the match
// rules then confirm that the image really is the one asked for, since
// Docker also resolves short ID prefixes and other forms the kubelet never
// meant. An absent or non-matching image is an error wrapping
// errdefs.ErrNotFound.
func Resolve(ctx context.Context, eng Inspector, spec string) (*image.InspectResponse, error) {
	r, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	var img *image.InspectResponse
	if r.IsID() {
		img, err = eng.InspectImageByID(ctx, r.ID.String())
	} else {
		img, err = eng.InspectImageByRef(ctx, spec)
	}
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", spec, err)
	}
	if img == nil || !matchesRef(img, spec, r) {
		return nil, fmt.Errorf("image %q: present image does not match the reference: %w", spec, errdefs.ErrNotFound)
	}
	return img, nil
}

// ImageRef is the seed's GetImageRef: the ID of the image ref names, or
// its first repo digest when preferDigest is set and it has one; "" with no
// error when the image is absent.
func ImageRef(ctx context.Context, eng Inspector, ref string, preferDigest bool) (string, error) {
	img, err := Resolve(ctx, eng, ref)
	if errdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if preferDigest && len(img.RepoDigests) > 0 {
		return img.RepoDigests[0], nil
	}
	return img.ID, nil
}
