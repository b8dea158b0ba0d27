package chaos

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// lifecycle runs one pod to its end: run, create+start a container, stop,
// remove; every call retried through crashes.
func lifecycle(ctx context.Context, rt runtimeapi.RuntimeServiceClient, run string, n int, image, dir string, st *stats) error {
	name := fmt.Sprintf("%s-p%d", run, n)
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: prefix + "-chaos", Uid: name + "-uid"},
		Hostname:     name,
		LogDirectory: filepath.Join(dir, "logs", name),
		Labels:       map[string]string{"chaos": run, "pod": name},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
	}
	if n%4 == 0 {
		// Like a kubelet whose pod was deleted while RunPodSandbox failed:
		// one try, no retry, no clean-up. What the crash left must be
		// rolled back by the restarted server (or be a complete pod).
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		resp, err := rt.RunPodSandbox(cctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if err != nil {
			st.failed(err)
			st.mu.Lock()
			st.abandoned = append(st.abandoned, name)
			st.mu.Unlock()
			return nil
		}
		return retry(ctx, st, "RemovePodSandbox", func(cctx context.Context) error {
			_, err := rt.RemovePodSandbox(cctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: resp.PodSandboxId})
			return err
		})
	}
	for attempt := 0; attempt < 20; attempt++ {
		err := lifecycleOnce(ctx, rt, cfg, image, st)
		if !errors.Is(err, errRestart) {
			return err
		}
		st.restartsOfLifecycle.Add(1)
	}
	return fmt.Errorf("%s: gave up after 20 restarts", name)
}

func lifecycleOnce(ctx context.Context, rt runtimeapi.RuntimeServiceClient, cfg *runtimeapi.PodSandboxConfig, image string, st *stats) error {
	name := cfg.Metadata.Name
	var sbID string
	failures := 0
	err := retry(ctx, st, "RunPodSandbox", func(cctx context.Context) error {
		resp, err := rt.RunPodSandbox(cctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			// A NOTREADY sandbox of this attempt that the server keeps
			// failing to replace (Docker cannot remove it): a kubelet
			// moves on to the next attempt, whose name is free.
			if failures++; failures >= 3 && notReadyAttempt(cctx, rt, cfg) {
				cfg.Metadata.Attempt++
				st.bumped.Add(1)
				failures = 0
			}
		}
		if status.Code(err) == codes.AlreadyExists {
			// A retry after a crash that followed a complete run.
			id, lerr := findSandbox(cctx, rt, name)
			if lerr != nil || id == "" {
				return fmt.Errorf("AlreadyExists, but no ready sandbox found: %v", lerr)
			}
			st.adopted.Add(1)
			sbID = id
			return nil
		}
		if err != nil {
			return err
		}
		sbID = resp.PodSandboxId
		return nil
	})
	if err != nil {
		return err
	}
	cc := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: image},
		Command:  []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
		LogPath:  "app.log",
		Labels:   map[string]string{"chaos": cfg.Labels["chaos"]},
	}
	var ctrID string
	err = retry(ctx, st, "CreateContainer", func(cctx context.Context) error {
		resp, err := rt.CreateContainer(cctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: cc, SandboxConfig: cfg})
		switch status.Code(err) {
		case codes.OK:
			ctrID = resp.ContainerId
			return nil
		case codes.AlreadyExists:
			list, lerr := rt.ListContainers(cctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: sbID}})
			if lerr != nil {
				return lerr
			}
			for _, c := range list.Containers {
				if c.Metadata.GetName() == "app" {
					st.adopted.Add(1)
					ctrID = c.Id
					return nil
				}
			}
			return err
		case codes.NotFound, codes.FailedPrecondition:
			return permanent{errRestart}
		}
		return err
	})
	if err != nil {
		return err
	}
	startFailures := 0
	err = retry(ctx, st, "StartContainer", func(cctx context.Context) error {
		_, err := rt.StartContainer(cctx, &runtimeapi.StartContainerRequest{ContainerId: ctrID})
		if status.Code(err) == codes.NotFound {
			return permanent{errRestart}
		}
		if err != nil {
			// Started before the crash? Then it runs.
			s, serr := rt.ContainerStatus(cctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctrID})
			if serr == nil && s.Status.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
				return nil
			}
			// A container that keeps failing to start for a reason other
			// than an outage (Docker lost its task, or its sandbox's IPC, in
			// a live-restore): a kubelet never retries a failed start of
			// one instance; here the pod starts over.
			if status.Code(err) != codes.Unavailable {
				startFailures++
			}
			if startFailures >= 5 && serr == nil {
				st.gaveUp.Add(1)
				return permanent{errRestart}
			}
			// Its sandbox stopped (a dockerd restart without live-restore):
			// a kubelet kills the pod and makes a new sandbox.
			ps, perr := rt.PodSandboxStatus(cctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sbID})
			if perr == nil && ps.Status.State == runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
				return permanent{errRestart}
			}
		}
		return err
	})
	if err != nil && !errors.Is(err, errRestart) {
		return err
	}
	restart := errors.Is(err, errRestart)
	// Stop and remove, whatever happened: idempotent.
	if err := retry(ctx, st, "StopPodSandbox", func(cctx context.Context) error {
		_, err := rt.StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sbID})
		return err
	}); err != nil {
		return err
	}
	if err := retry(ctx, st, "RemovePodSandbox", func(cctx context.Context) error {
		_, err := rt.RemovePodSandbox(cctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sbID})
		return err
	}); err != nil {
		return err
	}
	if restart {
		return errRestart
	}
	return nil
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// retry calls fn until it succeeds, fails permanently, or two minutes
// pass; errors of a crashed or restarting server are retried.
func retry(ctx context.Context, st *stats, what string, fn func(context.Context) error) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := fn(cctx)
		cancel()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.err
		}
		last = err
		st.retries.Add(1)
		st.failed(err)
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s: still failing after 2 minutes: %w", what, last)
}

func findSandbox(ctx context.Context, rt runtimeapi.RuntimeServiceClient, name string) (string, error) {
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{"pod": name},
		State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
	}})
	if err != nil {
		return "", err
	}
	if len(list.Items) != 1 {
		return "", fmt.Errorf("%d ready sandboxes named %s", len(list.Items), name)
	}
	return list.Items[0].Id, nil
}

func ownContainers(t *testing.T, eng engine.Engine, root string) []containerSummary {
	t.Helper()
	list, err := eng.ListContainers(context.Background(), engine.ListOptions{All: true, Labels: []string{
		naming.ManagedLabelFilter, naming.LabelPrefix + "root-dir=" + root,
	}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]containerSummary, 0, len(list))
	for _, c := range list {
		out = append(out, containerSummary{ID: c.ID, Names: c.Names, State: string(c.State)})
	}
	return out
}

type containerSummary struct {
	ID    string
	Names []string
	State string
}

// dockerOwn reports an error in which dockerlet passes on an inconsistency
// of Docker 20.10 itself after a restart cut an operation short, not an
// outage it failed to classify: a root filesystem it left mounted and
// cannot remove, a containerd task or container it lost track of ("task
// <id>: already exists", "id already in use" on every start of a container
// it thinks was never started), a restored sandbox whose IPC namespace it
// no longer shares. docs/robustness.md has the details.
func dockerOwn(msg string) bool {
	return strings.Contains(msg, "failed to remove root filesystem") ||
		strings.Contains(msg, "Error response from daemon: task ") && strings.Contains(msg, "already exists") ||
		strings.Contains(msg, "Error response from daemon: id already in use") ||
		strings.Contains(msg, "non-shareable IPC")
}
