package pod

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// redirector keeps each supervised pod's network namespace holding the
// redirects the plan gives it. It enters a namespace only when what the
// pod must hold changed (or on first sight of its sandbox: a table left
// by an earlier supervisor for a Service since removed goes then), and
// only the sandboxes of pods play supervises.
type redirector struct {
	log *slog.Logger
	// pid finds a sandbox's infra process (sandboxPid; a fake in tests).
	pid func(ctx context.Context, sandboxID string) (int, error)
	// set writes a namespace's rules (setNetnsRedirects; a fake in tests).
	set func(pid int, podIP string, rules []Redirect) error
	// done is what each pod's namespace holds (or failed to take), by uid:
	// sandbox, address and rules.
	done map[string]string
}

func newRedirector(rt Runtime, log *slog.Logger) *redirector {
	pid := func(ctx context.Context, id string) (int, error) { return sandboxPid(ctx, rt, id) }
	return &redirector{log: log, pid: pid, set: setNetnsRedirects, done: map[string]string{}}
}

// sync applies plan to eps, the supervised pods.
func (r *redirector) sync(ctx context.Context, plan ServicePlan, eps []Endpoint) {
	seen := map[string]bool{}
	for _, e := range eps {
		if e.HostNetwork || e.IP == "" || e.SandboxID == "" {
			continue
		}
		seen[e.UID] = true
		rules := plan.Redirects[e.UID].Rules
		want := fmt.Sprintf("%s %s %v", e.SandboxID, e.IP, rules)
		if r.done[e.UID] == want {
			continue
		}
		r.done[e.UID] = want // a failure is logged once, and retried when something changes
		pid, err := r.pid(ctx, e.SandboxID)
		if err == nil {
			err = r.set(pid, e.IP, rules)
		}
		switch {
		case err != nil:
			r.log.Warn("Service ports: cannot set the pod's port redirects", "pod", e.Namespace+"/"+e.Name, "error", err)
		case len(rules) > 0:
			r.log.Info("Service ports: redirects set", "pod", e.Namespace+"/"+e.Name, "rules", fmt.Sprint(rules))
		}
	}
	for uid := range r.done {
		if !seen[uid] {
			delete(r.done, uid) // gone with its pod, or its sandbox is down
		}
	}
}

// sandboxPid is the pid of the sandbox's infra process (whose network
// namespace the pod's containers share), from the CRI's verbose status.
func sandboxPid(ctx context.Context, rt Runtime, sandboxID string) (int, error) {
	st, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sandboxID, Verbose: true})
	if err != nil {
		return 0, err
	}
	if st.GetStatus().GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
		return 0, fmt.Errorf("sandbox %s is not running: %w", shortID(sandboxID), errdefs.ErrFailedPrecondition)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(st.GetInfo()["info"]), &info); err != nil || info.Pid <= 0 {
		return 0, fmt.Errorf("sandbox %s: the runtime reports no process id: %w", shortID(sandboxID), errdefs.ErrNotImplemented)
	}
	return info.Pid, nil
}
