package pod

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// Config wires a Worker (and a Supervisor) to its collaborators.
type Config struct {
	Runtime     Runtime
	StateDir    string // pod directories live in StateDir/pods/<uid>
	Clock       Clock
	Logger      *slog.Logger
	Credentials Credentials // nil: SecretCredentials (pull secrets only)
	Handler     Handler     // nil: NewHandler(Runtime)
	LocalImages LocalImages // nil: every image comes from a registry
	Backoff     *Backoff    // nil: the kubelet's 10 s … 5 min
	// SyncPeriod is how often a pod is reconciled and its probes checked.
	SyncPeriod time.Duration
	// Hosts, when set, gives each pod a managed /etc/hosts (Service names);
	// nil leaves the runtime's.
	Hosts HostsTable
}

// LocalImages makes images that are built on this host rather than pulled
// (dockerlet.local/busybox). Ensure reports false for any other image.
type LocalImages interface {
	Ensure(ctx context.Context, image string) (handled bool, err error)
}

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = RealClock
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Credentials == nil {
		c.Credentials = SecretCredentials{}
	}
	if c.Handler == nil {
		c.Handler = NewHandler(c.Runtime)
	}
	if c.Backoff == nil {
		c.Backoff = NewBackoff(BackoffInitial, BackoffMax)
	}
	if c.SyncPeriod <= 0 {
		c.SyncPeriod = time.Second
	}
}

// PodDir is where a pod's logs and volumes live.
func PodDir(stateDir string, uid string) string { return filepath.Join(stateDir, "pods", uid) }

// Worker runs one pod with kubelet semantics. Sync is one reconcile step;
// Run calls it every SyncPeriod. Its methods run on one goroutine at a
// time (the supervisor's runner for the pod, or a command's own worker);
// Status may be called from any.
type Worker struct {
	cfg    Config
	pod    *corev1.Pod
	objs   Objects
	source string
	podDir string
	log    *slog.Logger

	mem    memory // see worker_plan.go
	status PodStatus

	pubMu     sync.Mutex
	published PodStatus // what Status returns

	// graceOverride replaces the pod's grace period when set (down
	// --grace-period, --force).
	graceOverride *time.Duration
}

type containerProbes struct {
	startup, liveness, readiness *probeState
}

// NewWorker prepares a worker for p (which must have a UID). source is the
// manifest's SourceID, recorded on the sandbox.
func NewWorker(cfg Config, p *corev1.Pod, objs Objects, source string) *Worker {
	cfg.defaults()
	now := cfg.Clock.Now()
	w := &Worker{
		cfg: cfg, pod: p, objs: objs, source: source,
		podDir: PodDir(cfg.StateDir, string(p.UID)),
		log:    cfg.Logger.With("pod", p.Namespace+"/"+p.Name),
		mem:    newMemory(),
	}
	w.status = PodStatus{Name: p.Name, Namespace: p.Namespace, UID: string(p.UID), Source: source,
		Phase: corev1.PodPending, Created: now, Updated: now}
	if !p.CreationTimestamp.IsZero() {
		w.status.Created = p.CreationTimestamp.Time
	}
	w.publish()
	return w
}

// Status returns a copy of the pod's status as of the last completed
// Sync; it never waits for a Sync in progress (a pull, a grace period).
func (w *Worker) Status() PodStatus {
	w.pubMu.Lock()
	defer w.pubMu.Unlock()
	return w.published
}

// publish makes the current status what Status returns.
func (w *Worker) publish() {
	s := w.status
	s.InitContainers = append([]ContainerStatus(nil), s.InitContainers...)
	s.Containers = append([]ContainerStatus(nil), s.Containers...)
	s.Events = append([]Event(nil), s.Events...)
	w.pubMu.Lock()
	w.published = s
	w.pubMu.Unlock()
}

// Run reconciles the pod every SyncPeriod until ctx ends. onSync, if not
// nil, is called after every step.
func (w *Worker) Run(ctx context.Context, onSync func(PodStatus)) {
	t := time.NewTicker(w.cfg.SyncPeriod)
	defer t.Stop()
	for {
		w.safeSync(ctx)
		if onSync != nil {
			onSync(w.Status())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// safeSync is Sync that survives a panic: one pod's bug must not take the
// supervisor, and every other pod's restart policy, down with it.
func (w *Worker) safeSync(ctx context.Context) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("pod sync panicked; retrying next period", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	w.Sync(ctx)
}

// Sync is one reconcile step: sandbox, init containers in order, app
// containers per restart policy, probes, status; each observed, planned
// (worker_plan.go) and carried out (worker_act.go).
func (w *Worker) Sync(ctx context.Context) {
	defer w.publish()
	if w.status.Terminal {
		return
	}
	now := w.cfg.Clock.Now()
	sbKey := string(w.pod.UID) + "/sandbox"
	if in, _ := w.cfg.Backoff.InBackoff(sbKey, w.mem.sandboxFailed, now); in && !w.mem.sandboxFailed.IsZero() {
		return
	}
	if err := w.syncSandbox(ctx); err != nil {
		// Retried with the crash-loop back-off: a port already in use
		// will not free itself within a second.
		w.mem.sandboxFailed = now
		w.cfg.Backoff.Next(sbKey, now)
		w.updateStatus(containerSet{})
		w.status.Reason, w.status.Message = "SandboxError", errText(err, "")
		w.event("Warning", "FailedCreatePodSandBox", errText(err, ""))
		return
	}
	if !w.mem.sandboxFailed.IsZero() {
		w.mem.sandboxFailed = time.Time{}
		w.cfg.Backoff.Reset(sbKey)
	}
	w.status.Reason, w.status.Message = "", ""
	if err := w.syncHosts(); err != nil {
		w.log.Warn("writing the pod's hosts file", "error", err)
	}
	conts, err := w.listContainers(ctx)
	if err != nil {
		w.status.Message = err.Error()
		return
	}
	w.act(ctx, planContainers(w.pod, w.observed(conts), w.cfg.Clock.Now()))
	// Sidecars are probed during the init phase too: their startup probe
	// gates the next init container.
	w.runProbes(ctx, planProbes(w.pod, w.observed(conts), w.cfg.Clock.Now()))
	if conts, err = w.listContainers(ctx); err == nil {
		w.updateStatus(conts)
	}
	if w.status.Terminal && w.mem.sandboxID != "" {
		if conts, err := w.listContainers(ctx); err == nil {
			w.act(ctx, planTerminal(w.pod, conts))
			if conts, err = w.listContainers(ctx); err == nil {
				w.updateStatus(conts)
			}
		}
		// As the kubelet does: a finished pod keeps its containers (for
		// logs) but not its sandbox, whose host ports go free.
		if _, err := w.cfg.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: w.mem.sandboxID}); err != nil {
			w.event("Warning", "FailedStopPodSandbox", err.Error())
		}
	}
}

// observed is what a plan sees of this sync: conts and the worker's memory.
func (w *Worker) observed(conts containerSet) observed {
	return observed{containers: conts, mem: &w.mem, backoff: w.cfg.Backoff}
}

// updateStatus recomputes the pod's status from conts.
func (w *Worker) updateStatus(conts containerSet) {
	now := w.cfg.Clock.Now()
	w.status.Updated = now
	w.status.Backoff = w.cfg.Backoff.Export(string(w.pod.UID) + "/")
	computeStatus(&w.status, w.pod, w.observed(conts), w.podDir, now)
}

// syncSandbox adopts the pod's ready sandbox or creates one (planSandbox).
func (w *Worker) syncSandbox(ctx context.Context) error {
	if w.mem.volumes == nil {
		vols, err := PrepareVolumes(w.pod, w.podDir, ClaimsDir(w.cfg.StateDir), w.objs)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(LogDir(w.podDir), 0o755); err != nil {
			return err
		}
		w.mem.volumes = vols
	}
	var p sandboxPlan
	var seen sandboxSeen
	for {
		seen = sandboxSeen{}
		if w.mem.sandboxID == "" {
			resp, err := w.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
				LabelSelector: map[string]string{naming.KubeletLabelPodUID: string(w.pod.UID)},
			}})
			if err != nil {
				return fmt.Errorf("list sandboxes: %w", err)
			}
			seen.listed = resp.Items
		} else if st, err := w.cfg.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: w.mem.sandboxID}); err == nil {
			seen.current = st.Status
		}
		p = planSandbox(&w.mem, seen)
		if p.adopt == "" {
			break
		}
		// An earlier sandbox listed ready: looked at as the current one.
		w.mem.sandboxID, w.mem.sandboxAttempt = p.adopt, p.attempt
	}
	if p.changed {
		if p.stop != "" {
			w.log.Warn("pod sandbox is not ready; re-creating it", "sandbox", p.stop)
		}
		w.event("Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
	}
	if p.stop != "" {
		_, _ = w.cfg.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.stop})
	}
	for _, id := range p.carry {
		w.carryAttempts(ctx, id)
	}
	w.mem.sandboxAttempt = p.attempt
	if w.mem.sandboxCfg == nil || w.mem.sandboxCfg.Metadata.Attempt != p.attempt {
		cfg, err := SandboxConfig(w.pod, w.podDir, w.source, p.attempt)
		if err != nil {
			return err
		}
		w.mem.sandboxCfg = cfg
	}
	if !p.create {
		w.setIP(seen.current)
		return nil
	}
	w.mem.sandboxID = ""
	resp, err := w.cfg.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: w.mem.sandboxCfg})
	if err != nil {
		return fmt.Errorf("run pod sandbox: %w", err)
	}
	w.mem.sandboxID = resp.PodSandboxId
	w.mem.initialized = false // a new sandbox runs its init containers again
	w.status.SandboxID = w.mem.sandboxID
	w.status.StartTime = w.cfg.Clock.Now()
	st, err := w.cfg.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: w.mem.sandboxID})
	if err != nil {
		return fmt.Errorf("pod sandbox status: %w", err)
	}
	w.setIP(st.Status)
	w.event("Normal", "SandboxCreated", "Created pod sandbox "+shortID(w.mem.sandboxID))
	return nil
}

// carryAttempts remembers the attempts the containers of a dead sandbox
// reached: in the new sandbox they go on counting (restart counts survive,
// and container names, which end in the attempt, stay unique).
func (w *Worker) carryAttempts(ctx context.Context, sandboxID string) {
	resp, err := w.cfg.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: sandboxID}})
	if err != nil {
		return
	}
	for _, c := range resp.Containers {
		if c.Metadata != nil && c.Metadata.Attempt+1 > w.mem.nextAttempt[c.Metadata.Name] {
			w.mem.nextAttempt[c.Metadata.Name] = c.Metadata.Attempt + 1
		}
	}
}

func (w *Worker) setIP(st *runtimeapi.PodSandboxStatus) {
	w.status.SandboxID = w.mem.sandboxID
	if st != nil && st.Network != nil && st.Network.Ip != "" {
		w.mem.podIP = st.Network.Ip
	}
	if w.status.StartTime.IsZero() && st != nil && st.CreatedAt > 0 {
		w.status.StartTime = time.Unix(0, st.CreatedAt)
	}
	w.status.PodIP = w.mem.podIP
	if w.pod.Spec.HostNetwork {
		w.status.PodIP = "127.0.0.1"
	}
}

// probeHost is where network probes and hooks go.
func (w *Worker) probeHost() string {
	if w.pod.Spec.HostNetwork || w.mem.podIP == "" {
		return "127.0.0.1"
	}
	return w.mem.podIP
}

// containerSet is the latest instance of each container of the sandbox.
type containerSet map[string]*runtimeapi.ContainerStatus

func (w *Worker) listContainers(ctx context.Context) (containerSet, error) {
	resp, err := w.cfg.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: w.mem.sandboxID}})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	latest := map[string]*runtimeapi.Container{}
	for _, c := range resp.Containers {
		if c.Metadata == nil {
			continue
		}
		if l, ok := latest[c.Metadata.Name]; !ok || c.Metadata.Attempt > l.Metadata.Attempt {
			latest[c.Metadata.Name] = c
		}
	}
	out := containerSet{}
	for name, c := range latest {
		st, err := w.cfg.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id})
		if err != nil || st.Status == nil {
			continue // removed meanwhile: seen as absent
		}
		out[name] = st.Status
	}
	w.trackProbes(out)
	return out, nil
}

// trackProbes starts the probe state of each running instance on first
// sight, timed from the instance's start.
func (w *Worker) trackProbes(conts containerSet) {
	now := w.cfg.Clock.Now()
	for _, list := range [][]corev1.Container{w.pod.Spec.InitContainers, w.pod.Spec.Containers} {
		for i := range list {
			c := &list[i]
			st := conts[c.Name]
			if st == nil || st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
				continue
			}
			if _, ok := w.mem.probes[st.Id]; !ok {
				w.mem.probes[st.Id] = newContainerProbes(c, st, now)
			}
		}
	}
}

func (w *Worker) event(typ, reason, msg string) {
	now := w.cfg.Clock.Now()
	ev := Event{Time: now, Type: typ, Reason: reason, Message: msg, Count: 1, First: now}
	// A repeat of a recent event counts up and moves to the end, as
	// Kubernetes aggregates events, instead of flooding the list.
	evs := w.status.Events
	for i := len(evs) - 1; i >= 0 && i >= len(evs)-10; i-- {
		if evs[i].Reason == reason && evs[i].Message == msg && evs[i].Type == typ {
			ev.Count, ev.First = max(evs[i].Count, 1)+1, evs[i].First
			if ev.First.IsZero() {
				ev.First = evs[i].Time
			}
			evs = append(evs[:i], evs[i+1:]...)
			break
		}
	}
	w.status.Events = append(evs, ev)
	if len(w.status.Events) > maxEvents {
		w.status.Events = w.status.Events[len(w.status.Events)-maxEvents:]
	}
	if typ == "Warning" {
		w.log.Warn(msg, "reason", reason)
	} else {
		w.log.Info(msg, "reason", reason)
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// hostsPath is the pod's managed /etc/hosts, "" when it has none (no
// table, or the host's network).
func (w *Worker) hostsPath() string {
	if w.cfg.Hosts == nil || w.pod.Spec.HostNetwork {
		return ""
	}
	return HostsPath(w.podDir)
}

// syncHosts brings the pod's /etc/hosts up to date with the Services.
func (w *Worker) syncHosts() error {
	path := w.hostsPath()
	if path == "" {
		return nil
	}
	return writeHosts(path, w.cfg.Hosts.Hosts(w.pod, w.mem.podIP))
}
