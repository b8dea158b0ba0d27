package cri

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	imgref "github.com/dockerlet/dockerlet/internal/image"
)

// RemoveImage removes an image. By id it removes the image with all its
// names; by reference it removes that name (and the image with its last
// name), as `docker rmi` does. An absent image is success.
func (s *Service) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	spec := req.GetImage().GetImage()
	img, err := imgref.Resolve(ctx, s.eng, spec)
	if errdefs.IsNotFound(err) {
		return &runtimeapi.RemoveImageResponse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", spec, err)
	}
	defer s.imageRefs.forget() // a removed name may be a container's image ref
	target, opts := spec, engine.ImageRemoveOptions{PruneChildren: true}
	if isImageID(spec, img.ID) {
		target = img.ID
		if err := s.untagForRemoval(ctx, img); err != nil {
			return nil, err
		}
	}
	_, rerr := s.eng.RemoveImage(ctx, target, opts)
	if errdefs.IsConflict(rerr) {
		// In use by a container: Docker's own answer, nothing to wait for.
		if _, err := imgref.Resolve(ctx, s.eng, spec); !errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("remove image %s: %w", spec, rerr)
		}
		return &runtimeapi.RemoveImageResponse{}, nil
	}
	// A concurrent removal may have won the race: Docker then reports odd
	// errors ("unrecognized image ID") or NotFound while the other removal
	// is still deleting. Either way the call returns only once the image is
	// gone, so that an ImageStatus right after it finds nothing.
	if err := s.waitImageGone(ctx, spec); err != nil {
		if rerr != nil && !errdefs.IsNotFound(rerr) {
			return nil, fmt.Errorf("remove image %s: %w", spec, rerr)
		}
		return nil, fmt.Errorf("remove image %s: %w", spec, err)
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}

// untagForRemoval prepares the removal by id of an image with several
// names. Docker removes such an image by id only when forced, and a forced
// removal also deletes an image that a stopped container uses — any
// container, a user's that dockerlet does not manage included (the
// kubelet's image GC would take users' images). So an image that any
// container uses is refused, and otherwise its names are removed one by
// one, unforced; the removal by id that follows is unforced too, so a
// container made meanwhile still keeps its image (Docker refuses, or keeps
// it untagged).
func (s *Service) untagForRemoval(ctx context.Context, img *image.InspectResponse) error {
	names := append(realRefs(img.RepoTags), realRefs(img.RepoDigests)...)
	if len(names) <= 1 {
		return nil
	}
	// Not filtered by owner: the engine answers for every container.
	all, err := s.eng.ListContainers(ctx, engine.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("remove image %s: list containers: %w", img.ID, err)
	}
	for _, c := range all {
		if c.ImageID == img.ID {
			return fmt.Errorf("remove image %s: in use by container %.12s: %w", img.ID, c.ID, errdefs.ErrConflict)
		}
	}
	for _, name := range names {
		if _, err := s.eng.RemoveImage(ctx, name, engine.ImageRemoveOptions{PruneChildren: true}); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove image %s: untag %s: %w", img.ID, name, err)
		}
	}
	return nil
}

// waitImageGone polls until spec no longer resolves (bounded).
func (s *Service) waitImageGone(ctx context.Context, spec string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := imgref.Resolve(ctx, s.eng, spec)
		if errdefs.IsNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("image is still present: %w", errdefs.ErrFailedPrecondition)
		}
		select {
		case <-time.After(25 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
