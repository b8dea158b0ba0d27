package pod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// redirector keeps each supervised pod's network namespace holding the
// redirects the plan gives it. It enters a namespace only when what the
// pod must hold changed, and only the sandboxes of pods play supervises;
// one that needs none is entered only when its marker file says it holds
// some (so that a pod no Service maps is never entered, and a table that
// an earlier supervisor set for a Service since removed still goes).
type redirector struct {
	log *slog.Logger
	// marker is the file, in the pod's directory, naming the sandbox whose
	// namespace holds redirects ("": none kept, in tests).
	marker func(uid string) string
	// pid finds a sandbox's infra process (sandboxPid; a fake in tests).
	pid func(ctx context.Context, sandboxID string) (int, error)
	// set writes a namespace's rules (setNetnsRedirects; a fake in tests).
	set func(pid int, podIP string, rules []Redirect) error
	// done is what each pod's namespace holds (or failed to take), by uid:
	// sandbox, address and rules.
	done map[string]string
}

func newRedirector(rt Runtime, stateDir string, log *slog.Logger) *redirector {
	pid := func(ctx context.Context, id string) (int, error) { return sandboxPid(ctx, rt, id) }
	marker := func(uid string) string { return filepath.Join(PodDir(stateDir, uid), "service-redirects") }
	return &redirector{log: log, marker: marker, pid: pid, set: setNetnsRedirects, done: map[string]string{}}
}

// holds reports whether the marker says sandbox's namespace holds
// redirects.
func (r *redirector) holds(uid, sandbox string) bool {
	if r.marker == nil {
		return true
	}
	b, err := os.ReadFile(r.marker(uid))
	return err == nil && strings.TrimSpace(string(b)) == sandbox
}

// mark records (or with no rules removes) the marker.
func (r *redirector) mark(uid, sandbox string, rules []Redirect) {
	if r.marker == nil {
		return
	}
	path := r.marker(uid)
	var err error
	if len(rules) == 0 {
		err = os.Remove(path)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	} else {
		err = os.WriteFile(path, []byte(sandbox+"\n"), 0o600)
	}
	if err != nil {
		r.log.Warn("Service ports: recording the pod's redirects", "error", err)
	}
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
		if len(rules) == 0 && !r.holds(e.UID, e.SandboxID) {
			continue // nothing there to remove
		}
		pid, err := r.pid(ctx, e.SandboxID)
		if err == nil {
			err = r.set(pid, e.IP, rules)
		}
		if err != nil {
			r.log.Warn("Service ports: cannot set the pod's port redirects", "pod", e.Namespace+"/"+e.Name, "error", err)
			continue
		}
		r.mark(e.UID, e.SandboxID, rules)
		r.log.Info("Service ports: redirects set", "pod", e.Namespace+"/"+e.Name, "rules", fmt.Sprint(rules))
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
