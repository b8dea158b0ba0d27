package pod

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// Observe reads the pod's state from the runtime without acting on it: what
// `get pods` shows when no supervisor runs. prev (the last recorded status,
// may be nil) supplies what only a supervisor knows: readiness verdicts and
// events.
func (w *Worker) Observe(ctx context.Context, prev *PodStatus) PodStatus {
	if prev != nil {
		w.restore(*prev)
	}
	defer w.publish()
	sbs, err := w.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{naming.KubeletLabelPodUID: string(w.pod.UID)},
	}})
	if err != nil {
		w.status.Reason, w.status.Message = "Unknown", err.Error()
		return w.status
	}
	// The ready sandbox, else the newest.
	better := func(a, b *runtimeapi.PodSandbox) bool {
		ar, br := a.State == runtimeapi.PodSandboxState_SANDBOX_READY, b.State == runtimeapi.PodSandboxState_SANDBOX_READY
		if ar != br {
			return ar
		}
		return a.CreatedAt > b.CreatedAt
	}
	var best *runtimeapi.PodSandbox
	for _, sb := range sbs.Items {
		if best == nil || better(sb, best) {
			best = sb
		}
	}
	if best == nil {
		w.updateStatus(containerSet{})
		w.status.Reason, w.status.Message = "NotRunning", "the pod has no sandbox: start a supervisor (dockerlet play -d or dockerlet supervise)"
		return w.status
	}
	w.mem.sandboxID = best.Id
	if st, err := w.cfg.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: best.Id}); err == nil {
		w.setIP(st.Status)
	}
	conts, err := w.listContainers(ctx)
	if err != nil {
		w.status.Reason, w.status.Message = "Unknown", err.Error()
		return w.status
	}
	// Readiness is a supervisor's verdict: keep the recorded one for the
	// same container instance, and no verdict means not ready.
	ready := map[string]bool{}
	if prev != nil {
		for _, c := range prev.Containers {
			ready[c.ID] = c.Ready
		}
	}
	w.updateStatus(conts)
	all := w.status.Phase == "Running"
	for i := range w.status.Containers {
		c := &w.status.Containers[i]
		if c.State == StateRunning {
			c.Ready = ready[c.ID]
		}
		all = all && c.Ready
	}
	w.status.Ready = all
	if best.State != runtimeapi.PodSandboxState_SANDBOX_READY && !w.status.Terminal {
		w.status.Reason, w.status.Message = "SandboxNotReady", "the pod's sandbox is not running and no supervisor re-creates it"
	}
	return w.status
}
