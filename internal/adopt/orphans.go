package adopt

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/dockerlet/dockerlet/internal/network"
)

// ReleaseOrphans tears down the network of each checkpointed sandbox whose
// container is gone, with cri-dockerd's CNI cache, and deletes its
// checkpoint once that succeeded: what the kubelet's StopPodSandbox and
// RemovePodSandbox of such a sandbox did under cri-dockerd (it kept
// listing them, not ready, until then). dockerlet does not list them, so
// nobody else would release their addresses. A failed teardown keeps the
// checkpoint, and the next start tries again.
func (s *Set) ReleaseOrphans(ctx context.Context, net network.Plugin) (released int) {
	if s == nil {
		return 0
	}
	for id, cp := range s.orphans {
		pod := &network.Pod{ID: id, Name: cp.Name, Namespace: cp.Namespace, CNICacheDir: s.cniCacheDir}
		if cp.Data != nil {
			pod.HostNetwork = cp.Data.HostNetwork
		}
		if err := net.TearDown(ctx, pod, ""); err != nil {
			s.log.Warn("releasing the network of a cri-dockerd sandbox whose container is gone", "sandbox", id, "pod", cp.Namespace+"/"+cp.Name, "err", err)
			continue
		}
		if err := os.Remove(filepath.Join(s.rootDir, checkpointDir, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("removing cri-dockerd's checkpoint of a released sandbox", "sandbox", id, "err", err)
			continue
		}
		s.log.Info("released the network of a cri-dockerd sandbox whose container is gone", "sandbox", id, "pod", cp.Namespace+"/"+cp.Name)
		delete(s.orphans, id)
		released++
	}
	return released
}
