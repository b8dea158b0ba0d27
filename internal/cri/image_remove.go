package cri

import (
	"context"
	"errors"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	imgref "github.com/dockerlet/dockerlet/internal/image"
)

// RemoveImage removes an image. By id it removes the image with all its
// names; by reference it removes that name (and the image with its last
// name), as `docker rmi` does. An absent image is success.
func (s *Service) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	spec := req.GetImage().GetImage()
	if spec == "" {
		return nil, invalidf("remove image: image is empty")
	}
	img, err := imgref.Resolve(ctx, s.eng, spec)
	if errors.Is(err, engine.ErrNotFound) {
		return &runtimeapi.RemoveImageResponse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", spec, err)
	}
	defer s.imageRefs.forget() // a removed name may be a container's image ref
	target, opts := spec, engine.ImageRemoveOptions{PruneChildren: true}
	if isImageID(spec, img.ID) {
		target, opts.Force = img.ID, len(realRefs(img.RepoTags)) > 1 || len(realRefs(img.RepoDigests)) > 1
	}
	if _, err := s.eng.RemoveImage(ctx, target, opts); err != nil && !errors.Is(err, engine.ErrNotFound) {
		// A concurrent removal may have won the race; Docker then reports
		// odd errors ("unrecognized image ID"). Gone is gone.
		if _, serr := imgref.Resolve(ctx, s.eng, spec); errors.Is(serr, engine.ErrNotFound) {
			return &runtimeapi.RemoveImageResponse{}, nil
		}
		return nil, fmt.Errorf("remove image %s: %w", spec, err)
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}
