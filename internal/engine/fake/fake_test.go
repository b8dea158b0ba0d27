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

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/registry"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func newWithImage(t *testing.T) (*Fake, string) {
	t.Helper()
	f := New()
	id := f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}, RootFS: image.RootFS{Layers: []string{"sha256:l1", "sha256:l2"}}})
	return f, id
}

func create(t *testing.T, f *Fake, name string, labels map[string]string) string {
	t.Helper()
	id, err := f.CreateContainer(context.Background(), engine.CreateSpec{
		Name:   name,
		Config: &container.Config{Image: "busybox", Cmd: []string{"sleep", "1d"}, Labels: labels},
	})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return id
}

func TestContainerLifecycle(t *testing.T) {
	ctx := context.Background()
	f, imgID := newWithImage(t)
	id := create(t, f, "k8s_a", map[string]string{"app": "x"})

	got, err := f.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "/k8s_a" || got.State.Status != container.StateCreated || got.Image != imgID {
		t.Fatalf("created: name %q status %q image %q", got.Name, got.State.Status, got.Image)
	}
	if got.State.StartedAt != zeroTime || got.Path != "sleep" || len(got.Args) != 1 {
		t.Fatalf("created: startedAt %q path %q args %v", got.State.StartedAt, got.Path, got.Args)
	}
	if err := f.StartContainer(ctx, id[:12]); err != nil {
		t.Fatal(err)
	}
	got, _ = f.InspectContainer(ctx, "k8s_a")
	if !got.State.Running || got.State.Pid == 0 || got.State.StartedAt == zeroTime {
		t.Fatalf("started: %+v", got.State)
	}
	if err := f.KillContainer(ctx, "/k8s_a", "TERM"); err != nil {
		t.Fatal(err)
	}
	got, _ = f.InspectContainer(ctx, id)
	if got.State.Running || got.State.Status != container.StateExited || got.State.ExitCode != 143 || got.State.FinishedAt == zeroTime {
		t.Fatalf("killed: %+v", got.State)
	}
	if err := f.KillContainer(ctx, id, "KILL"); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("kill stopped container: %v, want ErrConflict", err)
	}
	if err := f.RemoveContainer(ctx, id, engine.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.InspectContainer(ctx, id); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("inspect removed: %v, want ErrNotFound", err)
	}
}

func TestStopAndExitCodes(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	a := create(t, f, "c_a", nil)
	b := create(t, f, "c_b", nil)
	for _, id := range []string{a, b} {
		if err := f.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	f.SetStopExitCode(137)
	if err := f.StopContainer(ctx, a, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := f.StopContainer(ctx, a, time.Second); err != nil {
		t.Fatalf("stopping a stopped container should be a no-op: %v", err)
	}
	if err := f.ExitContainer(b, 3); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{a: 137, b: 3} {
		got, _ := f.InspectContainer(ctx, id)
		if got.State.ExitCode != want {
			t.Errorf("%s exit code %d, want %d", id[:6], got.State.ExitCode, want)
		}
	}
	// A restart increments RestartCount and resets the exit code.
	if err := f.StartContainer(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, _ := f.InspectContainer(ctx, b)
	if got.RestartCount != 1 || got.State.ExitCode != 0 || !got.State.Running {
		t.Fatalf("restarted: count %d state %+v", got.RestartCount, got.State)
	}
}

func TestCreateErrors(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	create(t, f, "dup", nil)
	cases := []struct {
		name string
		spec engine.CreateSpec
		want error
	}{
		{"duplicate name", engine.CreateSpec{Name: "dup", Config: &container.Config{Image: "busybox"}}, engine.ErrConflict},
		{"duplicate with slash", engine.CreateSpec{Name: "/dup", Config: &container.Config{Image: "busybox"}}, engine.ErrConflict},
		{"missing image", engine.CreateSpec{Name: "x1", Config: &container.Config{Image: "nope"}}, engine.ErrNotFound},
		{"nil config", engine.CreateSpec{Name: "y"}, engine.ErrInvalidArgument},
		{"bad name", engine.CreateSpec{Name: "a b", Config: &container.Config{Image: "busybox"}}, engine.ErrInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.CreateContainer(ctx, tc.spec); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLookupAndRemove(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	id := create(t, f, "c_r", nil)
	if _, err := f.InspectContainer(ctx, "nonexistent"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := f.InspectContainer(ctx, ""); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("empty: %v", err)
	}
	if err := f.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveContainer(ctx, id, engine.RemoveOptions{}); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("remove running without force: %v, want ErrConflict", err)
	}
	if err := f.RemoveContainer(ctx, id, engine.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveContainer(ctx, id, engine.RemoveOptions{}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
}

func TestListContainersFilters(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	a := create(t, f, "k8s_a", map[string]string{"io.kubernetes.pod": "p1", "role": "sandbox"})
	b := create(t, f, "k8s_b", map[string]string{"io.kubernetes.pod": "p2"})
	create(t, f, "user", nil)
	if err := f.StartContainer(ctx, a); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts engine.ListOptions
		want []string
	}{
		{"running only", engine.ListOptions{}, []string{a}},
		{"all with label key", engine.ListOptions{All: true, Labels: []string{"io.kubernetes.pod"}}, []string{a, b}},
		{"label value", engine.ListOptions{All: true, Labels: []string{"io.kubernetes.pod=p2"}}, []string{b}},
		{"two labels", engine.ListOptions{All: true, Labels: []string{"io.kubernetes.pod=p1", "role=sandbox"}}, []string{a}},
		{"two labels no match", engine.ListOptions{All: true, Labels: []string{"io.kubernetes.pod=p2", "role=sandbox"}}, nil},
		{"status implies all", engine.ListOptions{Status: []string{"created"}, Labels: []string{"io.kubernetes.pod"}}, []string{b}},
		{"id prefix", engine.ListOptions{All: true, IDs: []string{b[:10]}}, []string{b}},
		{"name regexp", engine.ListOptions{All: true, Names: []string{"^/k8s_"}}, []string{a, b}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.ListContainers(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, s := range got {
				ids[s.ID] = true
				if len(s.Names) != 1 || !strings.HasPrefix(s.Names[0], "/") {
					t.Errorf("names %v lack a leading slash", s.Names)
				}
			}
			if len(ids) != len(tc.want) {
				t.Fatalf("got %d containers, want %d", len(ids), len(tc.want))
			}
			for _, w := range tc.want {
				if !ids[w] {
					t.Errorf("missing %s", w[:8])
				}
			}
		})
	}
	if _, err := f.ListContainers(ctx, engine.ListOptions{Names: []string{"("}}); !errors.Is(err, engine.ErrInvalidArgument) {
		t.Fatalf("bad regexp: %v", err)
	}
}

func TestImages(t *testing.T) {
	ctx := context.Background()
	f := New()
	id := f.AddImage(image.InspectResponse{
		RepoTags:    []string{"docker.io/library/busybox:latest", "127.0.0.1:5001/busybox:1"},
		RepoDigests: []string{"busybox@sha256:" + strings.Repeat("a", 64)},
	})
	for _, ref := range []string{
		"busybox", "busybox:latest", "docker.io/library/busybox", "127.0.0.1:5001/busybox:1",
		"busybox@sha256:" + strings.Repeat("a", 64), id, strings.TrimPrefix(id, "sha256:")[:12],
	} {
		got, err := f.InspectImageByRef(ctx, ref)
		if err != nil || got.ID != id {
			t.Errorf("by ref %q: %v", ref, err)
		}
	}
	for _, ref := range []string{"busybox:2", "127.0.0.1:5001/busybox", "other", "busybox@sha256:" + strings.Repeat("b", 64)} {
		if _, err := f.InspectImageByRef(ctx, ref); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("by ref %q: %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := f.InspectImageByID(ctx, strings.TrimPrefix(id, "sha256:")); err != nil {
		t.Errorf("by full hex ID: %v", err)
	}
	if _, err := f.InspectImageByID(ctx, id[:20]); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("by ID prefix: %v, want ErrNotFound", err)
	}
	got, _ := f.InspectImageByRef(ctx, "busybox")
	if got.RepoTags[0] != "busybox:latest" {
		t.Errorf("tags stored as %v, want familiar form", got.RepoTags)
	}

	list, err := f.ListImages(ctx, engine.ImageListOptions{Reference: "busybox"})
	if err != nil || len(list) != 1 {
		t.Fatalf("list busybox: %v %v", list, err)
	}
	list, _ = f.ListImages(ctx, engine.ImageListOptions{Reference: "busybox:9"})
	if len(list) != 0 {
		t.Fatalf("list busybox:9: %v", list)
	}

	if err := f.TagImage(ctx, "busybox", "mine:v1"); err != nil {
		t.Fatal(err)
	}
	res, err := f.RemoveImage(ctx, "mine:v1", engine.ImageRemoveOptions{})
	if err != nil || len(res) != 1 || res[0].Untagged != "mine:v1" {
		t.Fatalf("untag: %v %v", res, err)
	}
	if _, err := f.RemoveImage(ctx, id, engine.ImageRemoveOptions{}); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("remove multi-tagged by ID: %v, want ErrConflict", err)
	}
	h, err := f.ImageHistory(ctx, id)
	if err != nil || len(h) != 1 || h[0].ID != id {
		t.Fatalf("history: %v %v", h, err)
	}
	res, err = f.RemoveImage(ctx, id, engine.ImageRemoveOptions{Force: true})
	if err != nil || res[len(res)-1].Deleted != id {
		t.Fatalf("force remove: %v %v", res, err)
	}
	if _, err := f.InspectImageByRef(ctx, "busybox"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("after remove: %v", err)
	}
}

func TestRemoveImageInUse(t *testing.T) {
	ctx := context.Background()
	f, id := newWithImage(t)
	c := create(t, f, "c_c", nil)
	if err := f.StartContainer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.RemoveImage(ctx, "busybox", engine.ImageRemoveOptions{Force: true}); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("remove image of running container: %v", err)
	}
	_ = f.StopContainer(ctx, c, 0)
	if _, err := f.RemoveImage(ctx, id, engine.ImageRemoveOptions{}); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("remove image of stopped container without force: %v", err)
	}
	if _, err := f.RemoveImage(ctx, id, engine.ImageRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
}

func TestTagMoves(t *testing.T) {
	ctx := context.Background()
	f := New()
	old := f.AddImage(image.InspectResponse{ID: "sha256:" + strings.Repeat("1", 64), RepoTags: []string{"app:v1"}})
	nw := f.AddImage(image.InspectResponse{ID: "sha256:" + strings.Repeat("2", 64), RepoTags: []string{"app:v1"}})
	got, err := f.InspectImageByRef(ctx, "app:v1")
	if err != nil || got.ID != nw {
		t.Fatalf("app:v1 → %v %v, want the newer image", got, err)
	}
	o, _ := f.InspectImageByID(ctx, old)
	if len(o.RepoTags) != 0 {
		t.Fatalf("old image kept tags %v", o.RepoTags)
	}
}

func TestPull(t *testing.T) {
	ctx := context.Background()
	f := New()
	if err := f.PullImage(ctx, "busybox", engine.PullOptions{}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("pull of unknown: %v", err)
	}
	if err := f.AllowPull("127.0.0.1:5001/busybox:1", nil); err != nil {
		t.Fatal(err)
	}
	if err := f.RequirePullAuth("127.0.0.1:5001/busybox", "u", "p"); err != nil {
		t.Fatal(err)
	}
	if err := f.PullImage(ctx, "127.0.0.1:5001/busybox:1", engine.PullOptions{Auth: &registry.AuthConfig{Username: "u", Password: "bad"}}); !errors.Is(err, engine.ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
	var progress []engine.Progress
	err := f.PullImage(ctx, "127.0.0.1:5001/busybox:1", engine.PullOptions{
		Auth:     &registry.AuthConfig{Username: "u", Password: "p"},
		Progress: func(p engine.Progress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || progress[0].Image != "127.0.0.1:5001/busybox:1" {
		t.Fatalf("progress %+v", progress)
	}
	if _, err := f.InspectImageByRef(ctx, "127.0.0.1:5001/busybox:1"); err != nil {
		t.Fatalf("pulled image absent: %v", err)
	}
	dig := "busybox@sha256:" + strings.Repeat("c", 64)
	if err := f.AllowPull(dig, &image.InspectResponse{ID: "sha256:" + strings.Repeat("d", 64)}); err != nil {
		t.Fatal(err)
	}
	if err := f.PullImage(ctx, dig, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.InspectImageByRef(ctx, dig); err != nil || got.RepoDigests[0] != dig {
		t.Fatalf("by digest: %+v %v", got, err)
	}
	if err := f.PullImage(ctx, "UPPER", engine.PullOptions{}); !errors.Is(err, engine.ErrInvalidArgument) {
		t.Fatalf("bad ref: %v", err)
	}
}

func TestExec(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	c := create(t, f, "c_c", nil)
	if _, err := f.CreateExec(ctx, c, engine.ExecConfig{Cmd: []string{"true"}}); !errors.Is(err, engine.ErrConflict) {
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
	if err := f.StartExec(ctx, eid, engine.Streams{}); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("second start: %v", err)
	}
	if _, err := f.InspectExec(ctx, "nope"); !errors.Is(err, engine.ErrNotFound) {
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
	if _, err := f.ContainerLogs(ctx, c, engine.LogsOptions{}); !errors.Is(err, engine.ErrInvalidArgument) {
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
	if err := f.ResizeContainerTTY(ctx, c, 10, 20); !errors.Is(err, engine.ErrConflict) {
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

func TestInjectionAndCalls(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	id := create(t, f, "c_c", nil)
	boom := errors.New("boom")
	f.InjectError("StartContainer", boom)
	if err := f.StartContainer(ctx, id); !errors.Is(err, boom) {
		t.Fatalf("injected once: %v", err)
	}
	if err := f.StartContainer(ctx, id); err != nil {
		t.Fatalf("second start should succeed: %v", err)
	}
	f.InjectPersistentError("Version", engine.ErrUnavailable)
	for range 2 {
		if _, err := f.Version(ctx); !errors.Is(err, engine.ErrUnavailable) {
			t.Fatalf("persistent: %v", err)
		}
	}
	f.ClearError("Version")
	if _, err := f.Version(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"CreateContainer", "StartContainer", "StartContainer", "Version", "Version", "Version"}
	if got := f.Calls(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("calls %v, want %v", got, want)
	}
	if n := f.CallCount("StartContainer"); n != 2 {
		t.Fatalf("CallCount %d", n)
	}
	f.SetDelay("Info", time.Hour)
	tctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := f.Info(tctx); !errors.Is(err, engine.ErrTimeout) {
		t.Fatalf("delayed call: %v, want ErrTimeout", err)
	}
}

func TestRecordsAreCopies(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	id := create(t, f, "c_c", map[string]string{"k": "v"})
	got, _ := f.InspectContainer(ctx, id)
	got.Config.Labels["k"] = "changed"
	got.State.Status = container.StateDead
	again, _ := f.InspectContainer(ctx, id)
	if again.Config.Labels["k"] != "v" || again.State.Status != container.StateCreated {
		t.Fatal("inspect result aliases the fake's state")
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				id, err := f.CreateContainer(ctx, engine.CreateSpec{Config: &container.Config{Image: "busybox"}})
				if err != nil {
					t.Error(err)
					return
				}
				_ = f.StartContainer(ctx, id)
				_, _ = f.ListContainers(ctx, engine.ListOptions{All: true})
				_ = f.RemoveContainer(ctx, id, engine.RemoveOptions{Force: true})
				_ = i + j
			}
		}()
	}
	wg.Wait()
	if n := len(f.ContainerIDs()); n != 0 {
		t.Fatalf("%d containers left", n)
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
	var out, errb syncBuf
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
	if err := f.AppendLog(c, "stdin", "x"); !errors.Is(err, engine.ErrInvalidArgument) {
		t.Fatalf("bad stream: %v", err)
	}
	if _, err := f.ContainerLogs(ctx, c, engine.LogsOptions{Stdout: true, Since: "yesterday"}); !errors.Is(err, engine.ErrInvalidArgument) {
		t.Fatalf("bad since: %v", err)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestInspectNetworksAndStorage(t *testing.T) {
	ctx := context.Background()
	f, _ := newWithImage(t)
	mk := func(name string, mode container.NetworkMode) string {
		id, err := f.CreateContainer(ctx, engine.CreateSpec{
			Name:       name,
			Config:     &container.Config{Image: "busybox"},
			HostConfig: &container.HostConfig{NetworkMode: mode},
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	bridge := mk("net_bridge", "")
	host := mk("net_host", "host")
	joined := mk("net_joined", container.NetworkMode("container:"+bridge))

	got, _ := f.InspectContainer(ctx, bridge)
	if got.GraphDriver == nil || got.NetworkSettings.Networks["bridge"] == nil || got.NetworkSettings.Networks["bridge"].IPAddress.IsValid() {
		t.Fatalf("created bridge container: %+v %+v", got.GraphDriver, got.NetworkSettings.Networks)
	}
	_ = f.StartContainer(ctx, bridge)
	got, _ = f.InspectContainer(ctx, bridge)
	if ip := got.NetworkSettings.Networks["bridge"].IPAddress; !ip.IsValid() || !strings.HasPrefix(ip.String(), "172.17.") {
		t.Fatalf("running bridge container IP %v", ip)
	}
	got, _ = f.InspectContainer(ctx, host)
	if _, ok := got.NetworkSettings.Networks["host"]; !ok || len(got.NetworkSettings.Networks) != 1 {
		t.Fatalf("host container networks %v", got.NetworkSettings.Networks)
	}
	got, _ = f.InspectContainer(ctx, joined)
	if len(got.NetworkSettings.Networks) != 0 {
		t.Fatalf("joined container networks %v", got.NetworkSettings.Networks)
	}
	img, _ := f.InspectImageByRef(ctx, "busybox")
	if img.Config == nil {
		t.Fatal("image without config")
	}
}
