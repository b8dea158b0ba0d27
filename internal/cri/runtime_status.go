package cri

import (
	"context"
	"encoding/json"
	"errors"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/network"
)

// Status reports RuntimeReady (the engine answers) and NetworkReady (the
// network plugin says so), each with a reason when false.
func (s *Service) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	runtimeReady := &runtimeapi.RuntimeCondition{Type: runtimeapi.RuntimeReady, Status: true}
	if _, err := s.eng.Version(ctx); err != nil {
		runtimeReady.Status = false
		runtimeReady.Reason = "DockerDaemonNotReady"
		runtimeReady.Message = "docker: " + err.Error()
	}
	networkReady := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Status: true}
	if err := s.cfg.Network.Status(); err != nil {
		networkReady.Status = false
		networkReady.Reason = network.ReasonNotReady
		networkReady.Message = s.cfg.Network.Name() + ": " + err.Error()
		var nr *network.NotReadyError
		if errors.As(err, &nr) {
			networkReady.Reason, networkReady.Message = nr.Reason, nr.Message
		}
	}
	resp := &runtimeapi.StatusResponse{
		Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{runtimeReady, networkReady}},
		RuntimeHandlers: []*runtimeapi.RuntimeHandler{{
			Name:     "",
			Features: &runtimeapi.RuntimeHandlerFeatures{},
		}},
		Features: &runtimeapi.RuntimeFeatures{},
	}
	if req.Verbose {
		s.mu.Lock()
		info := map[string]any{
			"podInfraImage": s.cfg.PodInfraImage,
			"networkPlugin": s.cfg.Network.Name(),
			"podCIDR":       s.podCIDR,
			"rootDirectory": s.cfg.RootDir,
			"version":       s.cfg.Version,
		}
		s.mu.Unlock()
		b, _ := json.Marshal(info)
		resp.Info = map[string]string{"config": string(b)}
	}
	return resp, nil
}
