package pod

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// DownOptions tune Down.
type DownOptions struct {
	// Supervised says a running supervisor holds the pods: Down waits for
	// it to let go of them first.
	Supervised bool
	// Grace, when set, replaces every pod's terminationGracePeriodSeconds
	// (0: no preStop hooks, killed at once).
	Grace *time.Duration
	// Volumes removes the PersistentVolumeClaims the manifest declared or
	// used, unless another manifest's pods use them too.
	Volumes bool
}

// Down stops and removes exactly what the manifest recorded as sourceID
// created: its record goes first (so a running supervisor lets go of the
// pods), then every sandbox labelled with one of its pods' UIDs or with
// its source. Pods stop in parallel, each with its own grace period, as
// the kubelet kills the pods of a node.
func Down(ctx context.Context, cfg Config, store Store, sourceID string, opts DownOptions) error {
	cfg.defaults()
	a, err := store.LoadApplied(sourceID)
	if err != nil {
		return err
	}
	if err := store.DeleteApplied(sourceID); err != nil {
		return err
	}
	if a == nil {
		a = &Applied{SourceID: sourceID}
	}
	if opts.Supervised {
		WaitReleased(ctx, store, append(store.PodsOf(a), a.Replaced...), 10*time.Second)
	}
	// Read after the supervisor let go: its Job controllers made their
	// last pods by then.
	pods := append(store.PodsOf(a), a.Replaced...)
	objs := a.Objects()
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Go(func() {
			w := NewWorker(cfg, p, objs, sourceID)
			w.graceOverride = opts.Grace
			errs[i] = w.Teardown(ctx)
			store.DeleteStatus(string(p.UID))
		})
	}
	wg.Wait()
	for _, j := range a.Jobs {
		store.DeleteJob(string(j.UID))
	}
	for _, d := range a.Deployments {
		store.DeleteDeployment(string(d.UID))
	}
	// Anything else this source created (a pod of an earlier apply whose
	// record was replaced) is found by its label.
	sbs, err := cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{naming.PlayLabelSource: sourceID},
	}})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list sandboxes: %w", err))...)
	}
	for _, sb := range sbs.Items {
		if _, err := cfg.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, err)
		}
		if _, err := cfg.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, err)
		}
	}
	if opts.Volumes {
		if err := removeClaims(cfg.StateDir, store, a.Claims); err != nil {
			errs = append(errs, fmt.Errorf("remove volumes: %w", err))
		}
	}
	if errors.Join(errs...) != nil && nothingLeft(ctx, cfg.Runtime, a) {
		// Whatever failed (a removal racing another, a sandbox gone
		// meanwhile), the outcome down promises holds.
		return nil
	}
	return errors.Join(errs...)
}

// nothingLeft reports whether no sandbox of a's pods or source remains.
func nothingLeft(ctx context.Context, rt Runtime, a *Applied) bool {
	selectors := []map[string]string{{naming.PlayLabelSource: a.SourceID}}
	for _, p := range a.Pods {
		selectors = append(selectors, map[string]string{naming.KubeletLabelPodUID: string(p.UID)})
	}
	for _, sel := range selectors {
		resp, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: sel}})
		if err != nil || len(resp.Items) > 0 {
			return false
		}
	}
	return true
}

// WaitReleased waits until a running supervisor dropped pods whose record
// went away (it deletes their status files when it does).
func WaitReleased(ctx context.Context, store Store, pods []*corev1.Pod, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		held := false
		for _, p := range pods {
			if _, ok := store.ReadStatus(string(p.UID)); ok {
				held = true
			}
		}
		if !held {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeClaims removes claims no other recorded manifest uses.
func removeClaims(stateDir string, store Store, claims []string) error {
	others, err := store.ListApplied()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, o := range others {
		for _, c := range o.Claims {
			used[c] = true
		}
	}
	var gone []string
	for _, c := range claims {
		if !used[c] {
			gone = append(gone, c)
		}
	}
	return RemoveClaims(stateDir, gone)
}
