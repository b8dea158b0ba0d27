package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	imgref "github.com/dockerlet/dockerlet/internal/image"
)

// ListImages lists the engine's images, or the one image a filter names.
func (s *Service) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	imgs, err := s.listImages(ctx, req.GetFilter().GetImage().GetImage())
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ListImagesResponse{Images: imgs}, nil
}

func (s *Service) listImages(ctx context.Context, filter string) ([]*runtimeapi.Image, error) {
	if filter != "" {
		img, err := imgref.Resolve(ctx, s.eng, filter)
		if errdefs.IsNotFound(err) {
			return []*runtimeapi.Image{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("inspect image %s: %w", filter, err)
		}
		return []*runtimeapi.Image{s.criImage(img)}, nil
	}
	list, err := s.eng.ListImages(ctx, engine.ImageListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]*runtimeapi.Image, 0, len(list))
	for _, img := range list {
		out = append(out, s.criImageSummary(img))
	}
	return out, nil
}
