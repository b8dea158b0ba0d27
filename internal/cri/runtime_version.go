package cri

import (
	"context"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// kubeAPIVersion is the version of the kubelet runtime API spoken.
const kubeAPIVersion = "0.1.0"

// Version reports the engine dockerlet runs on.
func (s *Service) Version(ctx context.Context, _ *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	v, err := s.eng.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine version: %w", err)
	}
	return &runtimeapi.VersionResponse{
		Version:           kubeAPIVersion,
		RuntimeName:       "docker",
		RuntimeVersion:    v.Version,
		RuntimeApiVersion: "v1",
	}, nil
}
