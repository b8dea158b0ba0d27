package restart

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// truth is what Docker holds for this server: sandbox id → state, and
// container id → state (with the exit code once exited).
type truth struct {
	sandboxes  map[string]string
	containers map[string]string
}

func (a truth) equal(b truth) bool {
	return maps.Equal(a.sandboxes, b.sandboxes) && maps.Equal(a.containers, b.containers)
}

func (a truth) String() string {
	var b strings.Builder
	for _, m := range []map[string]string{a.sandboxes, a.containers} {
		for _, id := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(&b, " %.12s=%s", id, m[id])
		}
		b.WriteString(" |")
	}
	return b.String()
}

// dockerTruth reads the server's objects from the daemon itself.
func (e *env) dockerTruth(ctx context.Context) truth {
	list, err := e.eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{
		naming.ManagedLabelFilter, naming.LabelPrefix + "root-dir=" + e.root}})
	if err != nil {
		e.t.Fatalf("docker list: %v", err)
	}
	tr := truth{sandboxes: map[string]string{}, containers: map[string]string{}}
	for _, c := range list {
		in, err := e.eng.InspectContainer(ctx, c.ID)
		if err != nil {
			e.t.Fatalf("docker inspect %s: %v", c.ID[:12], err)
		}
		st := in.State
		switch in.Config.Labels[naming.LabelType] {
		case "sandbox":
			s := runtimeapi.PodSandboxState_SANDBOX_NOTREADY.String()
			if st.Running {
				s = runtimeapi.PodSandboxState_SANDBOX_READY.String()
			}
			tr.sandboxes[c.ID] = s
		case "container":
			var s string
			switch st.Status {
			case "created":
				s = runtimeapi.ContainerState_CONTAINER_CREATED.String()
			case "running":
				s = runtimeapi.ContainerState_CONTAINER_RUNNING.String()
			case "exited", "dead":
				s = fmt.Sprintf("%s(%d)", runtimeapi.ContainerState_CONTAINER_EXITED, st.ExitCode)
			default:
				s = "docker:" + string(st.Status)
			}
			tr.containers[c.ID] = s
		}
	}
	return tr
}

// criView is the same through the CRI: the two List calls, then the
// exit codes from ContainerStatus; statuses are checked against the lists.
func (e *env) criView(ctx context.Context) truth {
	sbs, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		e.t.Fatalf("ListPodSandbox: %v", err)
	}
	ctrs, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		e.t.Fatalf("ListContainers: %v", err)
	}
	tr := truth{sandboxes: map[string]string{}, containers: map[string]string{}}
	for _, s := range sbs.Items {
		tr.sandboxes[s.Id] = s.State.String()
		st, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: s.Id})
		if err != nil {
			e.t.Errorf("PodSandboxStatus %.12s: %v", s.Id, err)
		} else if st.Status.State != s.State {
			e.t.Errorf("sandbox %.12s: listed %v, status %v", s.Id, s.State, st.Status.State)
		}
	}
	for _, c := range ctrs.Containers {
		v := c.State.String()
		st, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id})
		if err != nil {
			e.t.Errorf("ContainerStatus %.12s: %v", c.Id, err)
		} else if st.Status.State != c.State {
			e.t.Errorf("container %.12s: listed %v, status %v", c.Id, c.State, st.Status.State)
		}
		if c.State == runtimeapi.ContainerState_CONTAINER_EXITED && st != nil {
			v = fmt.Sprintf("%s(%d)", v, st.Status.ExitCode)
		}
		tr.containers[c.Id] = v
	}
	return tr
}

// compare checks the CRI view against Docker's; Docker is read before and
// after so that a change in between cannot be blamed on the server.
func (e *env) compare(ctx context.Context, when string) {
	for try := 0; ; try++ {
		before := e.dockerTruth(ctx)
		got := e.criView(ctx)
		after := e.dockerTruth(ctx)
		if !before.equal(after) && try < 3 {
			continue
		}
		if !got.equal(after) {
			e.t.Errorf("%s: the CRI says\n%s\nDocker says\n%s", when, got, after)
		} else {
			e.t.Logf("%s: exact (%d sandboxes, %d containers)%s", when, len(got.sandboxes), len(got.containers), got)
		}
		return
	}
}

// checkStats: after the restart every running container still has stats
// (the collector follows containers by id, not by the daemon's life).
// Without live-restore the second restart may have stopped them all.
func (e *env) checkStats(ctx context.Context, live bool) {
	ctrs, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}})
	if err != nil {
		e.t.Fatalf("ListContainers: %v", err)
	}
	st, err := e.rt.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil {
		e.t.Fatalf("ListContainerStats after the restart: %v", err)
	}
	have := map[string]bool{}
	for _, s := range st.Stats {
		if s.GetCpu() != nil && s.GetMemory() != nil {
			have[s.GetAttributes().GetId()] = true
		}
	}
	for _, c := range ctrs.Containers {
		if !have[c.Id] {
			e.t.Errorf("running container %.12s has no CPU/memory stats after the restart", c.Id)
		}
	}
	if live && len(ctrs.Containers) == 0 {
		e.t.Errorf("no running container to check stats of (live-restore keeps them)")
	}
}
