package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// GarbageCollector is implemented by plugins that keep per-pod state on the
// host (cni mode). The CRI server calls GC at start-up with the sandboxes it
// knows: a pod whose container and checkpoint both vanished while dockerlet
// was down (docker rm -f, a lost root dir) is never stopped by the kubelet,
// so its network would otherwise stay up for good.
type GarbageCollector interface {
	// GC tears down every pod this plugin set up whose sandbox id live
	// reports false.
	GC(ctx context.Context, live func(sandboxID string) bool) error
}

var _ GarbageCollector = (*cniPlugin)(nil)

// GC only considers pods with a netns pin or an ADD intent: both are
// dockerlet's own, while the CNI cache dir may be shared with another
// runtime on the same host.
func (p *cniPlugin) GC(ctx context.Context, live func(string) bool) error {
	p.removeStaleIntentTemps()
	ids, err := p.ownedPodIDs()
	if err != nil {
		return fmt.Errorf("cni gc: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if live(id) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		p.log.Info("tearing down the network of a vanished sandbox", "sandbox", id)
		if err := p.TearDown(ctx, &Pod{ID: id}, ""); err != nil {
			errs = append(errs, fmt.Errorf("cni gc of sandbox %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// ownedPodIDs lists the pods with a netns pin or an ADD intent, once each.
func (p *cniPlugin) ownedPodIDs() ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	for _, dir := range []string{p.netnsDir, p.intentsDir()} {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, de := range entries {
			id := de.Name()
			if dir == p.intentsDir() {
				var ok bool
				if id, ok = strings.CutSuffix(id, ".json"); !ok {
					continue
				}
			}
			if isPlainID(id) && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// removeStaleIntentTemps removes the temp files of intent writes a crash
// interrupted. Only old ones: another server sharing the cache dir may be
// writing one right now.
func (p *cniPlugin) removeStaleIntentTemps() {
	entries, err := os.ReadDir(p.intentsDir())
	if err != nil {
		return
	}
	for _, de := range entries {
		if !strings.HasPrefix(de.Name(), ".tmp-") {
			continue
		}
		if fi, err := de.Info(); err == nil && time.Since(fi.ModTime()) > staleTempAge {
			_ = os.Remove(filepath.Join(p.intentsDir(), de.Name()))
		}
	}
}

// staleTempAge is how old an intent temp file must be to count as left by
// a crash (a write takes microseconds).
const staleTempAge = time.Minute
