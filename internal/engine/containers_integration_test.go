package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

// runContainer creates and starts a container from img running cmd.
func runContainer(t *testing.T, c *engine.Client, img string, tty bool, labels map[string]string, cmd ...string) (string, string) {
	t.Helper()
	ctx := testCtx(t)
	name := uniqueName(t)
	id, err := c.CreateContainer(ctx, engine.CreateSpec{
		Name:       name,
		Config:     &container.Config{Image: img, Cmd: cmd, Labels: labels, Tty: tty, OpenStdin: true},
		HostConfig: &container.HostConfig{},
	})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	removeContainerAtEnd(t, c, id)
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return id, name
}

func TestIntegrationContainerLifecycle(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	ctx := testCtx(t)
	img := busybox(t, c, "lifecycle")
	label := prefix + ".test=" + uniqueName(t)
	key, val, _ := strings.Cut(label, "=")

	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	events, evErr := c.Events(evCtx, engine.EventsOptions{Labels: []string{label}})

	name := uniqueName(t)
	spec := engine.CreateSpec{
		Name:       name,
		Config:     &container.Config{Image: img, Cmd: []string{"sh", "-c", "echo out; echo err >&2; exec sleep 600"}, Labels: map[string]string{key: val}},
		HostConfig: &container.HostConfig{},
	}
	id, err := c.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	removeContainerAtEnd(t, c, id)
	if _, err := c.CreateContainer(ctx, spec); !errdefs.IsConflict(err) {
		t.Fatalf("duplicate name: %v, want errdefs.ErrConflict", err)
	}
	if _, err := c.CreateContainer(ctx, engine.CreateSpec{Name: uniqueName(t), Config: &container.Config{Image: img + "-absent"}}); !errdefs.IsNotFound(err) {
		t.Fatalf("create from absent image: %v, want errdefs.ErrNotFound", err)
	}
	got, err := c.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "/"+name || got.State.Status != container.StateCreated {
		t.Fatalf("created: name %q status %q", got.Name, got.State.Status)
	}
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	got, err = c.InspectContainer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !got.State.Running || got.State.Pid == 0 {
		t.Fatalf("started: %+v", got.State)
	}

	list, err := c.ListContainers(ctx, engine.ListOptions{Labels: []string{label}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Labels[key] != val {
		t.Fatalf("list by label: %+v", list)
	}
	if list, _ := c.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{key + "=other"}}); len(list) != 0 {
		t.Fatalf("list by other label value: %+v", list)
	}

	waitLogs(t, c, id, "out\n", "err\n")

	if err := c.UpdateContainerResources(ctx, id, container.Resources{CPUShares: 512, Memory: 64 << 20, MemorySwap: -1}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.InspectContainer(ctx, id)
	if got.HostConfig.CPUShares != 512 || got.HostConfig.Memory != 64<<20 {
		t.Fatalf("update: shares %d memory %d", got.HostConfig.CPUShares, got.HostConfig.Memory)
	}

	if err := c.StopContainer(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ = c.InspectContainer(ctx, id)
	if got.State.Running || got.State.Status != container.StateExited || got.State.FinishedAt == "" {
		t.Fatalf("stopped: %+v", got.State)
	}
	if err := c.KillContainer(ctx, id, "KILL"); !errdefs.IsConflict(err) {
		t.Fatalf("kill stopped container: %v, want errdefs.ErrConflict", err)
	}
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveContainer(ctx, id, engine.RemoveOptions{}); !errdefs.IsConflict(err) {
		t.Fatalf("remove running without force: %v, want errdefs.ErrConflict", err)
	}
	if err := c.KillContainer(ctx, id, "KILL"); err != nil {
		t.Fatal(err)
	}
	waitExited(t, c, id, 137)
	if err := c.RemoveContainer(ctx, id, engine.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InspectContainer(ctx, id); !errdefs.IsNotFound(err) {
		t.Fatalf("inspect removed: %v, want errdefs.ErrNotFound", err)
	}
	if err := c.StartContainer(ctx, id); !errdefs.IsNotFound(err) {
		t.Fatalf("start removed: %v, want errdefs.ErrNotFound", err)
	}

	// Events: create, start, die (stop), start, die (kill), destroy — in order.
	want := []string{"create", "start", "die", "start", "die", "destroy"}
	var seen []string
	deadline := time.After(30 * time.Second)
	for len(seen) < len(want) {
		select {
		case e := <-events:
			if e.ContainerID != id {
				t.Fatalf("event for another container %s", e.ContainerID)
			}
			if e.Attributes[key] != val || e.Time.IsZero() {
				t.Fatalf("event lacks label or time: %+v", e)
			}
			if slices.Contains(want, e.Action) {
				seen = append(seen, e.Action)
			}
		case err := <-evErr:
			t.Fatalf("event stream ended: %v", err)
		case <-deadline:
			t.Fatalf("events seen %v, want %v", seen, want)
		}
	}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", seen, want)
	}
	stopEvents()
	if err := <-evErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("event stream end: %v, want context.Canceled", err)
	}
}

// waitLogs polls the container's logs until they show stdout and stderr.
func waitLogs(t *testing.T, c *engine.Client, id, wantOut, wantErr string) {
	t.Helper()
	ctx := testCtx(t)
	var out, errb bytes.Buffer
	for range 100 {
		rc, err := c.ContainerLogs(ctx, id, engine.LogsOptions{Stdout: true, Stderr: true, Tail: "all"})
		if err != nil {
			t.Fatal(err)
		}
		out.Reset()
		errb.Reset()
		_, err = stdcopy.StdCopy(&out, &errb, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if out.String() == wantOut && errb.String() == wantErr {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("logs stdout %q stderr %q, want %q %q", out.String(), errb.String(), wantOut, wantErr)
}

func waitExited(t *testing.T, c *engine.Client, id string, code int) {
	t.Helper()
	ctx := testCtx(t)
	for range 200 {
		got, err := c.InspectContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !got.State.Running {
			if got.State.ExitCode != code {
				t.Fatalf("exit code %d, want %d", got.State.ExitCode, code)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("container did not exit")
}

func TestIntegrationExec(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	ctx := testCtx(t)
	img := busybox(t, c, "exec")
	id, _ := runContainer(t, c, img, false, nil, "sleep", "600")
	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	events, evErr := c.Events(evCtx, engine.EventsOptions{Since: time.Now().Add(-time.Minute)})

	// Exit code, stdout and stderr kept apart.
	eid, err := c.CreateExec(ctx, id, engine.ExecConfig{Cmd: []string{"sh", "-c", "echo hello; echo oops >&2; exit 3"}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := c.StartExec(ctx, eid, engine.Streams{Stdout: &out, Stderr: &errb}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello\n" || errb.String() != "oops\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
	}
	ins, err := c.InspectExec(ctx, eid)
	if err != nil {
		t.Fatal(err)
	}
	if ins.Running || ins.ExitCode != 3 || ins.ContainerID != id {
		t.Fatalf("inspect exec: %+v", ins)
	}
	// Docker's exec events: the bare verb, the command as detail.
	var execEvents []string
	for len(execEvents) < 3 {
		select {
		case e := <-events:
			if e.ContainerID == id && e.Attributes["execID"] == eid {
				execEvents = append(execEvents, e.Action+"|"+e.Attributes[engine.ActionDetail]+"|"+e.Attributes["exitCode"])
			}
		case err := <-evErr:
			t.Fatal(err)
		case <-time.After(10 * time.Second):
			t.Fatalf("exec events %v", execEvents)
		}
	}
	if want := "exec_create|sh -c echo hello; echo oops >&2; exit 3|,exec_start|sh -c echo hello; echo oops >&2; exit 3|,exec_die||3"; strings.Join(execEvents, ",") != want {
		t.Fatalf("exec events %v, want %s", execEvents, want)
	}
	stopEvents()

	// Stdin reaches the process and its EOF ends it.
	eid, err = c.CreateExec(ctx, id, engine.ExecConfig{Cmd: []string{"sh", "-c", "tr a-z A-Z"}, AttachStdin: true, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := c.StartExec(ctx, eid, engine.Streams{Stdin: strings.NewReader("shout\n"), Stdout: &out, Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "SHOUT\n" {
		t.Fatalf("stdin exec output %q", out.String())
	}

	// A TTY exec: resize while it runs, Pid while running.
	eid, err = c.CreateExec(ctx, id, engine.ExecConfig{Cmd: []string{"sh", "-c", "sleep 1; stty size"}, TTY: true, AttachStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var ttyOut enginetest.SyncBuffer
	go func() { done <- c.StartExec(ctx, eid, engine.Streams{Stdout: &ttyOut, TTY: true}) }()
	var resized bool
	for range 100 {
		ins, err := c.InspectExec(ctx, eid)
		if err != nil {
			t.Fatal(err)
		}
		if ins.Running && ins.Pid > 0 {
			if err := c.ResizeExecTTY(ctx, eid, 33, 77); err != nil {
				t.Fatal(err)
			}
			resized = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !resized {
		t.Fatal("exec never ran")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(ttyOut.String()); got != "33 77" {
		t.Fatalf("stty size after resize: %q", got)
	}

	if _, err := c.InspectExec(ctx, "0123456789abcdef"); !errdefs.IsNotFound(err) {
		t.Fatalf("unknown exec: %v, want errdefs.ErrNotFound", err)
	}
	if err := c.StopContainer(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateExec(ctx, id, engine.ExecConfig{Cmd: []string{"true"}}); !errdefs.IsConflict(err) {
		t.Fatalf("exec in stopped container: %v, want errdefs.ErrConflict", err)
	}
}

func TestIntegrationAttachAndResize(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	ctx := testCtx(t)
	img := busybox(t, c, "attach")

	// Non-TTY: attach sees both streams until the process exits.
	// StdinOnce: the end of our stdin closes the container's stdin rather
	// than ending the attach session, as `docker run -i` does.
	id, err := c.CreateContainer(ctx, engine.CreateSpec{
		Name:   uniqueName(t),
		Config: &container.Config{Image: img, Cmd: []string{"sh", "-c", "read line; echo got $line; echo bye >&2"}, OpenStdin: true, StdinOnce: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	removeContainerAtEnd(t, c, id)
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	var out, errb enginetest.SyncBuffer
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- c.AttachContainer(ctx, id, engine.Streams{Stdin: pr, Stdout: &out, Stderr: &errb}) }()
	// The process blocks in read until this line arrives through attach,
	// so all of its output comes after the attach is established.
	_, _ = pw.Write([]byte("x\n"))
	_ = pw.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("attach did not return after the process exited")
	}
	if out.String() != "got x\n" || errb.String() != "bye\n" {
		t.Fatalf("attach stdout %q stderr %q", out.String(), errb.String())
	}

	// TTY: resize the container's terminal and read it back.
	tid, _ := runContainer(t, c, img, true, nil, "sh", "-c", "sleep 1; stty size; sleep 600")
	if err := c.ResizeContainerTTY(ctx, tid, 21, 61); err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var tout enginetest.SyncBuffer
	adone := make(chan error, 1)
	go func() { adone <- c.AttachContainer(actx, tid, engine.Streams{Stdout: &tout, TTY: true}) }()
	for !strings.Contains(tout.String(), "21 61") {
		select {
		case err := <-adone:
			t.Fatalf("attach ended early (%v); output %q", err, tout.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-adone; !errors.Is(err, context.Canceled) {
		t.Fatalf("attach after cancel: %v, want context.Canceled", err)
	}
	if err := c.ResizeContainerTTY(ctx, "dlteng-no-such-container", 1, 1); !errdefs.IsNotFound(err) {
		t.Fatalf("resize unknown: %v, want errdefs.ErrNotFound", err)
	}
}

// TestIntegrationStreamsOutliveRequestTimeout: the request timeout bounds
// the exec handshake, not the stream that follows.
func TestIntegrationStreamsOutliveRequestTimeout(t *testing.T) {
	setup := enginetest.Connect(t, engine.Options{})
	ctx := testCtx(t)
	img := busybox(t, setup, "longexec")
	id, _ := runContainer(t, setup, img, false, nil, "sleep", "600")
	eid, err := setup.CreateExec(ctx, id, engine.ExecConfig{Cmd: []string{"sh", "-c", "sleep 3; echo done"}, AttachStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	// The handshake must fit in the timeout even on a loaded machine; the
	// exec's three seconds must not.
	c := enginetest.Connect(t, engine.Options{RequestTimeout: 2 * time.Second})
	var out bytes.Buffer
	if err := c.StartExec(ctx, eid, engine.Streams{Stdout: &out}); err != nil {
		t.Fatalf("exec longer than the request timeout: %v", err)
	}
	if out.String() != "done\n" {
		t.Fatalf("output %q", out.String())
	}
}
