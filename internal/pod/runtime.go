package pod

import (
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Runtime is the CRI service the pod runner drives: dockerlet's own CRI
// server called in process, or anything else that speaks the CRI (a fake in
// tests).
type Runtime interface {
	runtimeapi.RuntimeServiceServer
	runtimeapi.ImageServiceServer
}
