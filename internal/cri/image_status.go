package cri

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	imgref "github.com/dockerlet/dockerlet/internal/image"
)

// ImageStatus reports an image; an absent image is an empty response, not
// an error (the kubelet asks to decide whether to pull).
func (s *Service) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	spec := req.GetImage().GetImage()
	img, err := imgref.Resolve(ctx, s.eng, spec)
	if errdefs.IsNotFound(err) {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", spec, err)
	}
	resp := &runtimeapi.ImageStatusResponse{Image: s.criImage(img)}
	if req.Verbose {
		b, _ := json.Marshal(map[string]any{"config": img.Config, "os": img.Os, "architecture": img.Architecture})
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}
