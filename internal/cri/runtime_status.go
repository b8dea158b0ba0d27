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
	if err := s.engineAlive(ctx); err != nil {
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
		Status:          &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{runtimeReady, networkReady}},
		RuntimeHandlers: []*runtimeapi.RuntimeHandler{{Name: "", Features: &runtimeapi.RuntimeHandlerFeatures{}}},
		// Supplemental groups policy Strict and user namespaces are not
		// something Docker can do (Unimplemented), on any version.
		Features: &runtimeapi.RuntimeFeatures{},
	}
	if runtimeReady.Status {
		if f, err := s.daemonFacts(ctx); err == nil {
			resp.RuntimeHandlers = runtimeHandlers(f.features)
		}
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

// engineAlive reports whether the engine answers. A synced cache is proof
// enough: its event stream is a live connection to the daemon, and the
// cache leaves the synced state the moment that stream ends. So the
// kubelet's Status every few seconds costs the daemon nothing; only an
// unsynced cache asks the daemon for its version.
func (s *Service) engineAlive(ctx context.Context) error {
	if s.eng.Synced() {
		return nil
	}
	_, err := s.eng.Version(ctx)
	return err
}

// runtimeHandlers lists Docker's runtimes as CRI handlers ("" is Docker's
// default runtime) with what each can carry on this engine.
func runtimeHandlers(f engineFeatures) []*runtimeapi.RuntimeHandler {
	var out []*runtimeapi.RuntimeHandler
	for _, name := range f.handlerNames() {
		out = append(out, &runtimeapi.RuntimeHandler{
			Name: name,
			Features: &runtimeapi.RuntimeHandlerFeatures{
				RecursiveReadOnlyMounts: f.recursiveReadOnly(name),
				UserNamespaces:          false,
			},
		})
	}
	return out
}
