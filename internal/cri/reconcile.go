package cri

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// markOwned labels a container about to be created as this server's.
func (s *Service) markOwned(spec engine.CreateSpec) {
	if spec.Config != nil && spec.Config.Labels != nil {
		spec.Config.Labels[naming.LabelRootDir] = s.rootDir
	}
}

// owns reports whether this server made the container: it carries this
// server's root directory, or (made before the label existed) this
// server's store has its checkpoint.
func (s *Service) owns(labels map[string]string, id string) bool {
	if dir, ok := labels[naming.LabelRootDir]; ok {
		return dir == s.rootDir
	}
	cp, _ := s.ckpt.Load(id)
	return cp != nil
}

// Reconcile cleans up after a crash (kill -9, power loss) of an earlier
// process: it rolls back sandboxes whose RunPodSandbox never completed (a
// kubelet retries and would otherwise see a ghost, or AlreadyExists for a
// half-made pod), removes containers whose sandbox is gone, and releases
// the network of checkpoints whose container is gone. Only objects this
// server made (owns), and made before this Service was created, are
// touched, so it is safe beside other servers on the same engine. Call it
// before serving: a client retrying RunPodSandbox while it runs could
// adopt a sandbox that is about to be rolled back.
func (s *Service) Reconcile(ctx context.Context) {
	log := s.cfg.Logger
	sandboxes, err := s.eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: s.managedFilter(naming.TypeSandbox)})
	if err != nil {
		log.Warn("reconcile: listing sandboxes failed", "err", err)
		return
	}
	known := map[string]bool{}
	var rollback []container.Summary
	for _, sb := range sandboxes {
		if !isManaged(sb.Labels, naming.TypeSandbox) {
			continue
		}
		known[sb.ID] = true
		// An adopted sandbox has no checkpoint of dockerlet's: it was
		// complete when its runtime handed it over.
		if adopted(sb.Labels) || !s.owns(sb.Labels, sb.ID) || !s.madeBefore(sb.Labels, sb.Created) || s.sandboxComplete(sb) {
			continue
		}
		rollback = append(rollback, sb)
	}
	var mu sync.Mutex
	rolledBack := 0
	eachBounded(rollback, reconcileParallel, func(sb container.Summary) {
		log.Info("reconcile: rolling back a sandbox whose creation did not complete", "sandbox", sb.ID, "name", firstName(sb.Names))
		if err := s.removeSandbox(ctx, sb.ID); err != nil {
			log.Warn("reconcile: rollback failed", "sandbox", sb.ID, "err", err)
			return
		}
		mu.Lock()
		delete(known, sb.ID)
		rolledBack++
		mu.Unlock()
	})

	ctrs, err := s.eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: s.managedFilter(naming.TypeContainer)})
	if err != nil {
		log.Warn("reconcile: listing containers failed", "err", err)
		return
	}
	var orphaned []container.Summary
	for _, c := range ctrs {
		if !isManaged(c.Labels, naming.TypeContainer) || c.Labels[naming.LabelRootDir] != s.rootDir || adopted(c.Labels) ||
			known[c.Labels[naming.LabelSandboxID]] || !s.madeBefore(c.Labels, c.Created) {
			continue
		}
		orphaned = append(orphaned, c)
	}
	orphans := 0
	eachBounded(orphaned, reconcileParallel, func(c container.Summary) {
		log.Info("reconcile: removing a container whose sandbox is gone", "container", c.ID, "name", firstName(c.Names))
		if err := s.removeContainerLocked(ctx, c.ID); err != nil {
			log.Warn("reconcile: removing orphan container failed", "container", c.ID, "err", err)
			return
		}
		mu.Lock()
		orphans++
		mu.Unlock()
	})
	released := s.reconcileCheckpoints(ctx, known)
	s.gcNetwork(ctx)
	log.Info("reconciled state against the engine", "sandboxes_rolled_back", rolledBack, "orphan_containers_removed", orphans, "orphan_checkpoints_released", released)
}

// reconcileParallel bounds the rollbacks Reconcile runs at once. Each is a
// few Docker calls that mostly wait on the daemon (stop, network
// teardown, remove), and the server serves nothing until all are done:
// one after the other, a restart after a crash with 8 half-made pods took
// over a minute on a busy host (a kubelet starts pods concurrently, so a
// crash leaves as many half-made as it was starting).
const reconcileParallel = 8

// eachBounded calls fn for every item, at most n at a time, and returns
// when all calls have.
func eachBounded[T any](items []T, n int, fn func(T)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, n)
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(it)
		}()
	}
	wg.Wait()
}

// sandboxComplete reports whether RunPodSandbox finished for sb. Version 1
// checkpoints predate the flag: a running sandbox counts as complete.
func (s *Service) sandboxComplete(sb container.Summary) bool {
	cp, err := s.ckpt.Load(sb.ID)
	if err != nil || cp == nil {
		return false
	}
	if cp.Version < 2 {
		return sb.State == container.StateRunning
	}
	return cp.Complete
}

// madeBefore reports whether an object was created before this Service.
func (s *Service) madeBefore(labels map[string]string, createdUnix int64) bool {
	if n, err := strconv.ParseInt(labels[naming.LabelCreated], 10, 64); err == nil {
		return n < s.started.UnixNano()
	}
	return time.Unix(createdUnix, 0).Before(s.started)
}

// reconcileCheckpoints releases the network of, and deletes, checkpoints
// whose sandbox container is gone, and temp files of interrupted writes.
func (s *Service) reconcileCheckpoints(ctx context.Context, known map[string]bool) int {
	entries, err := os.ReadDir(s.ckpt.dir)
	if err != nil {
		s.cfg.Logger.Warn("reconcile: reading checkpoints failed", "err", err)
		return 0
	}
	n := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(s.started) {
			continue
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			_ = os.Remove(filepath.Join(s.ckpt.dir, e.Name()))
			continue
		}
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !checkpointIDRE.MatchString(id) || known[id] {
			continue
		}
		// The container may exist after all (a listing raced its creation).
		if _, err := s.eng.InspectContainer(ctx, id); !errdefs.IsNotFound(err) {
			continue
		}
		if err := s.teardownFromCheckpoint(ctx, id, nil, false); err != nil {
			s.cfg.Logger.Warn("reconcile: network teardown of orphan checkpoint failed", "sandbox", id, "err", err)
			continue
		}
		if err := s.ckpt.Delete(id); err != nil {
			continue
		}
		n++
	}
	return n
}

func firstName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return strings.TrimPrefix(names[0], "/")
}
