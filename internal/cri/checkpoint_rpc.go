package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Checkpoint/restore needs Docker's experimental CRIU support, which a CRI
// runtime cannot count on: these answer Unimplemented, as the kubelet
// expects from a runtime without the feature.

func (s *Service) CheckpointContainer(context.Context, *runtimeapi.CheckpointContainerRequest) (*runtimeapi.CheckpointContainerResponse, error) {
	return nil, unimplementedf("CheckpointContainer is not supported on Docker Engine")
}

func (s *Service) CheckpointPod(context.Context, *runtimeapi.CheckpointPodRequest) (*runtimeapi.CheckpointPodResponse, error) {
	return nil, unimplementedf("CheckpointPod is not supported on Docker Engine")
}

func (s *Service) RestorePod(context.Context, *runtimeapi.RestorePodRequest) (*runtimeapi.RestorePodResponse, error) {
	return nil, unimplementedf("RestorePod is not supported on Docker Engine")
}
