package fake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

func TestExec(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	c := create(t, f, "c_c", nil)
	if _, err := f.CreateExec(ctx, c, engine.ExecConfig{Cmd: []string{"true"}}); !errdefs.IsConflict(err) {
		t.Fatalf("exec in created container: %v", err)
	}
	_ = f.StartContainer(ctx, c)
	f.SetExecHook(func(ctx context.Context, id string, cfg engine.ExecConfig, s engine.Streams) int {
		_, _ = io.WriteString(s.Stdout, strings.Join(cfg.Cmd, " "))
		in, _ := io.ReadAll(s.Stdin)
		_, _ = s.Stderr.Write(in)
		return 7
	})
	eid, err := f.CreateExec(ctx, c, engine.ExecConfig{Cmd: []string{"echo", "hi"}, AttachStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := f.StartExec(ctx, eid, engine.Streams{Stdin: strings.NewReader("in"), Stdout: &out, Stderr: &errb}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "echo hi" || errb.String() != "in" {
		t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
	}
	ins, err := f.InspectExec(ctx, eid)
	if err != nil || ins.ExitCode != 7 || ins.Running || ins.ContainerID != c {
		t.Fatalf("inspect exec: %+v %v", ins, err)
	}
	// Exec events, as Docker emits them (bare verb, detail attribute).
	evs, errc := f.Events(ctx, engine.EventsOptions{Since: time.Unix(0, 0)})
	var execEvents []string
	for len(execEvents) < 3 {
		select {
		case e := <-evs:
			if strings.HasPrefix(e.Action, "exec_") && e.Attributes["execID"] == eid {
				execEvents = append(execEvents, e.Action+"|"+e.Attributes[engine.ActionDetail]+"|"+e.Attributes["exitCode"])
			}
		case err := <-errc:
			t.Fatal(err)
		case <-time.After(5 * time.Second):
			t.Fatalf("exec events %v", execEvents)
		}
	}
	if want := "exec_create|echo hi|,exec_start|echo hi|,exec_die||7"; strings.Join(execEvents, ",") != want {
		t.Fatalf("exec events %v, want %s", execEvents, want)
	}
	if err := f.StartExec(ctx, eid, engine.Streams{}); !errdefs.IsConflict(err) {
		t.Fatalf("second start: %v", err)
	}
	if _, err := f.InspectExec(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Fatalf("unknown exec: %v", err)
	}
	if err := f.ResizeExecTTY(ctx, eid, 24, 80); err != nil {
		t.Fatal(err)
	}
	if h, w, ok := f.LastTTYSize(eid); !ok || h != 24 || w != 80 {
		t.Fatalf("exec size %d %d %v", h, w, ok)
	}
}

func TestExecEndsWhenContainerStops(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	c := create(t, f, "c_c", nil)
	_ = f.StartContainer(ctx, c)
	started := make(chan struct{})
	f.SetExecHook(func(ctx context.Context, _ string, _ engine.ExecConfig, _ engine.Streams) int {
		close(started)
		<-ctx.Done()
		return 137
	})
	eid, _ := f.CreateExec(ctx, c, engine.ExecConfig{Cmd: []string{"sleep", "1d"}})
	done := make(chan error, 1)
	go func() { done <- f.StartExec(ctx, eid, engine.Streams{}) }()
	<-started
	if ins, _ := f.InspectExec(ctx, eid); !ins.Running || ins.Pid == 0 {
		t.Fatalf("exec not running: %+v", ins)
	}
	_ = f.StopContainer(ctx, c, 0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestLogsAndAttach(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	c := create(t, f, "c_c", nil)
	if err := f.SetLogs(c, "a\nb\nc\n", "e\n"); err != nil {
		t.Fatal(err)
	}
	rc, err := f.ContainerLogs(ctx, c, engine.LogsOptions{Stdout: true, Stderr: true, Tail: "2"})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	// Tail counts lines over both streams, as Docker does.
	if out.String() != "c\n" || errb.String() != "e\n" {
		t.Fatalf("logs stdout %q stderr %q", out.String(), errb.String())
	}
	if _, err := f.ContainerLogs(ctx, c, engine.LogsOptions{}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("no streams: %v", err)
	}

	_ = f.StartContainer(ctx, c)
	if err := f.ResizeContainerTTY(ctx, c, 10, 20); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var aout bytes.Buffer
	var mu sync.Mutex
	go func() {
		mu.Lock()
		defer mu.Unlock()
		done <- f.AttachContainer(ctx, c, engine.Streams{Stdout: &aout})
	}()
	select {
	case err := <-done:
		t.Fatalf("attach returned while running: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	_ = f.ExitContainer(c, 0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if aout.String() != "a\nb\nc\n" {
		t.Fatalf("attach output %q", aout.String())
	}
	if err := f.ResizeContainerTTY(ctx, c, 10, 20); !errdefs.IsConflict(err) {
		t.Fatalf("resize stopped: %v", err)
	}
}

func TestEvents(t *testing.T) {
	f, _ := newWithImage(t)
	ctx, cancel := context.WithCancel(context.Background())
	before := create(t, f, "before", map[string]string{"k": "v"})
	events, errc := f.Events(ctx, engine.EventsOptions{Since: time.Unix(0, 0), Labels: []string{"k=v"}})
	id := create(t, f, "c_c", map[string]string{"k": "v"})
	create(t, f, "other", map[string]string{"k": "w"})
	_ = f.StartContainer(ctx, id)
	_ = f.RemoveContainer(ctx, id, engine.RemoveOptions{Force: true})

	want := []struct{ id, action string }{{before, "create"}, {id, "create"}, {id, "start"}, {id, "die"}, {id, "destroy"}}
	for _, w := range want {
		select {
		case e := <-events:
			if e.ContainerID != w.id || e.Action != w.action {
				t.Fatalf("got %s %s, want %s %s", e.ContainerID[:6], e.Action, w.id[:6], w.action)
			}
			if e.Attributes["k"] != "v" || e.Attributes["name"] == "" {
				t.Fatalf("attributes %v", e.Attributes)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s event", w.action)
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("stream end: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.Subscribers() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := f.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers left", n)
	}
}

func TestLogsFollowTimestampsSince(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Now = func() time.Time { return clock }
	c := create(t, f, "c_logs", nil)
	_ = f.StartContainer(ctx, c)
	_ = f.AppendLog(c, "stdout", "one\n")
	clock = clock.Add(time.Second)
	_ = f.AppendLog(c, "stderr", "two\n")

	rc, err := f.ContainerLogs(ctx, c, engine.LogsOptions{Stdout: true, Stderr: true, Follow: true, Timestamps: true, Since: "2026-01-02T03:04:05.5Z"})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb enginetest.SyncBuffer
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&out, &errb, rc)
		done <- err
	}()
	clock = clock.Add(time.Second)
	_ = f.AppendLog(c, "stdout", "three\n")
	_ = f.ExitContainer(c, 0)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end when the container exited")
	}
	if got, want := out.String(), "2026-01-02T03:04:07.000000000Z three\n"; got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}
	if got, want := errb.String(), "2026-01-02T03:04:06.000000000Z two\n"; got != want {
		t.Fatalf("stderr %q, want %q", got, want)
	}
	if err := f.AppendLog(c, "stdin", "x"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad stream: %v", err)
	}
	if _, err := f.ContainerLogs(ctx, c, engine.LogsOptions{Stdout: true, Since: "yesterday"}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad since: %v", err)
	}
}
