package cri

import (
	"context"

	"github.com/containerd/errdefs"

	"github.com/dockerlet/dockerlet/internal/network"
)

// gcNetwork lets a network plugin that keeps per-pod state on the host
// release the pods whose sandbox vanished with its checkpoint while
// dockerlet was down: no kubelet will ever stop those. A sandbox counts as
// live while its checkpoint or any container with its id exists; when the
// engine cannot tell, it counts as live (a wrong teardown cuts off a
// running pod, a missed one only waits for the next start).
func (s *Service) gcNetwork(ctx context.Context) {
	gc, ok := s.cfg.Network.(network.GarbageCollector)
	if !ok {
		return
	}
	live := func(id string) bool {
		if cp, err := s.ckpt.Load(id); err != nil || cp != nil {
			return true
		}
		_, err := s.eng.InspectContainer(ctx, id)
		return !errdefs.IsNotFound(err)
	}
	if err := gc.GC(ctx, live); err != nil {
		s.cfg.Logger.Warn("reconcile: network garbage collection failed", "err", err)
	}
}
