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

// restore seeds a new worker with what a previous supervisor recorded, so
// that a restarted supervisor keeps the pod's events and terminal state.
func (w *Worker) restore(st PodStatus) {
	w.status.Events = st.Events
	w.cfg.Backoff.Import(st.Backoff)
	if !st.Created.IsZero() {
		w.status.Created = st.Created
	}
	w.status.StartTime = st.StartTime
	if st.Terminal {
		w.status = st
	}
	w.publish()
}

// Teardown stops and removes everything the pod has in the runtime (every
// sandbox labelled with its UID): containers get their preStop hooks and
// the grace period, in parallel, as the kubelet kills a pod. The pod's
// directory (logs, volumes) goes too.
func (w *Worker) Teardown(ctx context.Context) error {
	rt := w.cfg.Runtime
	sbs, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{naming.KubeletLabelPodUID: string(w.pod.UID)},
	}})
	if err != nil {
		return fmt.Errorf("pod %s: list sandboxes: %w", w.pod.Name, err)
	}
	var errs []error
	for _, sb := range sbs.Items {
		cs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: sb.Id}})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		host := "127.0.0.1"
		if st, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.Id}); err == nil &&
			st.Status.GetNetwork().GetIp() != "" && !w.pod.Spec.HostNetwork {
			host = st.Status.Network.Ip
		}
		var wg sync.WaitGroup
		for _, c := range cs.Containers {
			if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
				continue
			}
			spec := w.containerSpec(c.Metadata.GetName())
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.stopGracefully(ctx, spec, c.Id, host)
			}()
		}
		wg.Wait()
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("stop sandbox %s: %w", shortID(sb.Id), err))
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("remove sandbox %s: %w", shortID(sb.Id), err))
		}
	}
	if err := removePodDir(w.podDir); err != nil {
		errs = append(errs, err)
	}
	w.mem.sandboxID = ""
	return errors.Join(errs...)
}

func (w *Worker) containerSpec(name string) *corev1.Container {
	for _, list := range [][]corev1.Container{w.pod.Spec.Containers, w.pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// stopGracefully runs c's preStop hook, then stops it with what remains of
// the grace period. It touches no worker state, so it runs in parallel.
func (w *Worker) stopGracefully(ctx context.Context, c *corev1.Container, id, host string) {
	grace := w.grace()
	if c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && grace > 0 {
		start := time.Now()
		t := ProbeTarget{ContainerID: id, Container: c, Host: host}
		if err := w.cfg.Handler.Hook(ctx, t, c.Lifecycle.PreStop, grace); err != nil {
			w.log.Warn("preStop hook failed", "container", c.Name, "error", err)
		}
		grace = max(grace-time.Since(start), 2*time.Second)
	}
	if _, err := w.cfg.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: int64(grace / time.Second)}); err != nil {
		w.log.Warn("stop container", "id", shortID(id), "error", err)
	}
}
