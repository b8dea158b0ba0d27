// Package enginetest holds the behavioural contract every engine.Engine
// must meet. The same checks run against the fake (unit tests) and the
// real dockerd (integration tests), which is what keeps the fake honest:
// CRI logic tested on the fake then behaves the same on Docker.
package enginetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// Run checks e against the contract. image must be present in e and
// provide "sleep"; namePrefix marks every container the checks create
// (they are removed at the end).
func Run(t *testing.T, e engine.Engine, image, namePrefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	label := fmt.Sprintf("%s.contract=%d", namePrefix, time.Now().UnixNano())
	key, val := splitLabel(label)
	name := fmt.Sprintf("%s-contract-%d", namePrefix, time.Now().UnixNano())
	var created []string
	t.Cleanup(func() {
		for _, id := range created {
			_ = e.RemoveContainer(context.Background(), id, engine.RemoveOptions{Force: true})
		}
	})

	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	events, evErr := e.Events(evCtx, engine.EventsOptions{Labels: []string{label}})

	spec := engine.CreateSpec{
		Name:   name,
		Config: &container.Config{Image: image, Cmd: []string{"sleep", "600"}, Labels: map[string]string{key: val}},
	}
	id, err := e.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	created = append(created, id)

	t.Run("duplicate name conflicts", func(t *testing.T) {
		if _, err := e.CreateContainer(ctx, spec); !errdefs.IsConflict(err) {
			t.Fatalf("got %v, want ErrConflict", err)
		}
	})
	t.Run("absent image is not found", func(t *testing.T) {
		_, err := e.CreateContainer(ctx, engine.CreateSpec{Name: name + "-x", Config: &container.Config{Image: namePrefix + "-absent:1"}})
		if !errdefs.IsNotFound(err) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("unknown container is not found", func(t *testing.T) {
		unknown := namePrefix + "-no-such-container"
		checks := map[string]error{}
		_, checks["InspectContainer"] = e.InspectContainer(ctx, unknown)
		checks["StartContainer"] = e.StartContainer(ctx, unknown)
		checks["StopContainer"] = e.StopContainer(ctx, unknown, 0)
		checks["KillContainer"] = e.KillContainer(ctx, unknown, "KILL")
		checks["RemoveContainer"] = e.RemoveContainer(ctx, unknown, engine.RemoveOptions{})
		_, checks["CreateExec"] = e.CreateExec(ctx, unknown, engine.ExecConfig{Cmd: []string{"true"}})
		_, checks["InspectExec"] = e.InspectExec(ctx, "0123456789abcdef0123")
		for op, err := range checks {
			if !errdefs.IsNotFound(err) {
				t.Errorf("%s: got %v, want ErrNotFound", op, err)
			}
		}
	})

	got, err := e.InspectContainer(ctx, id[:12]) // prefix lookup
	if err != nil {
		t.Fatalf("inspect by ID prefix: %v", err)
	}
	if got.ID != id || got.Name != "/"+name || got.State.Status != container.StateCreated || got.State.Running {
		t.Fatalf("created: id %s name %q state %+v", got.ID, got.Name, got.State)
	}
	t.Run("exec needs a running container", func(t *testing.T) {
		if _, err := e.CreateExec(ctx, id, engine.ExecConfig{Cmd: []string{"true"}}); !errdefs.IsConflict(err) {
			t.Fatalf("got %v, want ErrConflict", err)
		}
	})
	if ls, err := e.ListContainers(ctx, engine.ListOptions{Labels: []string{label}}); err != nil || len(ls) != 0 {
		t.Fatalf("running-only list shows a created container: %v %v", ls, err)
	}
	if ls, err := e.ListContainers(ctx, engine.ListOptions{Labels: []string{label}, Status: []string{"created"}}); err != nil || len(ls) != 1 {
		t.Fatalf("status=created list: %v %v", ls, err)
	}

	if err := e.StartContainer(ctx, name); err != nil {
		t.Fatalf("start by name: %v", err)
	}
	if err := e.StartContainer(ctx, id); err != nil {
		t.Fatalf("starting a running container should be a no-op: %v", err)
	}
	got, err = e.InspectContainer(ctx, "/"+name)
	if err != nil {
		t.Fatalf("inspect by /name: %v", err)
	}
	if !got.State.Running || got.State.Pid <= 0 || got.State.StartedAt == "" {
		t.Fatalf("started: %+v", got.State)
	}
	ls, err := e.ListContainers(ctx, engine.ListOptions{Labels: []string{label}})
	if err != nil || len(ls) != 1 || ls[0].ID != id || !slices.Contains(ls[0].Names, "/"+name) || ls[0].State != container.StateRunning {
		t.Fatalf("list running by label: %+v %v", ls, err)
	}
	if ls, err := e.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{key + "=other"}}); err != nil || len(ls) != 0 {
		t.Fatalf("list with another label value: %+v %v", ls, err)
	}
	if err := e.RemoveContainer(ctx, id, engine.RemoveOptions{}); !errdefs.IsConflict(err) {
		t.Fatalf("remove running without force: %v, want ErrConflict", err)
	}
	if err := e.KillContainer(ctx, id, "KILL"); err != nil {
		t.Fatalf("kill: %v", err)
	}
	got = waitStopped(t, e, id)
	if got.State.ExitCode != 137 || got.State.Status != container.StateExited {
		t.Fatalf("killed: %+v", got.State)
	}
	if err := e.KillContainer(ctx, id, "KILL"); !errdefs.IsConflict(err) {
		t.Fatalf("kill stopped: %v, want ErrConflict", err)
	}
	if err := e.StopContainer(ctx, id, time.Second); err != nil {
		t.Fatalf("stopping a stopped container should be a no-op: %v", err)
	}
	if err := e.RemoveContainer(ctx, id, engine.RemoveOptions{}); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := e.InspectContainer(ctx, id); !errdefs.IsNotFound(err) {
		t.Fatalf("inspect removed: %v, want ErrNotFound", err)
	}

	want := []string{"create", "start", "die", "destroy"}
	var seen []string
	timeout := time.After(30 * time.Second)
	for len(seen) < len(want) {
		select {
		case ev := <-events:
			if ev.ContainerID != id || ev.Attributes[key] != val {
				t.Fatalf("unexpected event %+v", ev)
			}
			if slices.Contains(want, ev.Action) {
				seen = append(seen, ev.Action)
			}
		case err := <-evErr:
			t.Fatalf("event stream ended: %v", err)
		case <-timeout:
			t.Fatalf("events %v, want %v", seen, want)
		}
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("events %v, want %v", seen, want)
	}
	stopEvents()
	if err := <-evErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("event stream end: %v, want context.Canceled", err)
	}

	t.Run("images", func(t *testing.T) {
		img, err := e.InspectImageByRef(ctx, image)
		if err != nil {
			t.Fatalf("inspect image by ref: %v", err)
		}
		if byID, err := e.InspectImageByID(ctx, img.ID); err != nil || byID.ID != img.ID {
			t.Fatalf("inspect image by ID: %v", err)
		}
		if _, err := e.InspectImageByID(ctx, image); !errdefs.IsNotFound(err) {
			t.Fatalf("inspect by ID with a reference: %v, want ErrNotFound", err)
		}
		if _, err := e.InspectImageByRef(ctx, namePrefix+"-absent:1"); !errdefs.IsNotFound(err) {
			t.Fatalf("inspect absent image: %v, want ErrNotFound", err)
		}
	})
}

func waitStopped(t *testing.T, e engine.Engine, id string) *container.InspectResponse {
	t.Helper()
	for range 200 {
		got, err := e.InspectContainer(context.Background(), id)
		if err != nil {
			t.Fatalf("inspect: %v", err)
		}
		if !got.State.Running {
			return got
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("container did not stop")
	return nil
}

func splitLabel(l string) (string, string) {
	for i := range len(l) {
		if l[i] == '=' {
			return l[:i], l[i+1:]
		}
	}
	return l, ""
}
