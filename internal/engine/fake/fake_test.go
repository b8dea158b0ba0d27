package fake

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

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
	if err := f.KillContainer(ctx, id, "KILL"); !errdefs.IsConflict(err) {
		t.Fatalf("kill stopped container: %v, want ErrConflict", err)
	}
	if err := f.RemoveContainer(ctx, id, engine.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.InspectContainer(ctx, id); !errdefs.IsNotFound(err) {
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
		{"duplicate name", engine.CreateSpec{Name: "dup", Config: &container.Config{Image: "busybox"}}, errdefs.ErrConflict},
		{"duplicate with slash", engine.CreateSpec{Name: "/dup", Config: &container.Config{Image: "busybox"}}, errdefs.ErrConflict},
		{"missing image", engine.CreateSpec{Name: "x1", Config: &container.Config{Image: "nope"}}, errdefs.ErrNotFound},
		{"nil config", engine.CreateSpec{Name: "y"}, errdefs.ErrInvalidArgument},
		{"bad name", engine.CreateSpec{Name: "a b", Config: &container.Config{Image: "busybox"}}, errdefs.ErrInvalidArgument},
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
	if _, err := f.InspectContainer(ctx, "nonexistent"); !errdefs.IsNotFound(err) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := f.InspectContainer(ctx, ""); !errdefs.IsNotFound(err) {
		t.Fatalf("empty: %v", err)
	}
	if err := f.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveContainer(ctx, id, engine.RemoveOptions{}); !errdefs.IsConflict(err) {
		t.Fatalf("remove running without force: %v, want ErrConflict", err)
	}
	if err := f.RemoveContainer(ctx, id, engine.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveContainer(ctx, id, engine.RemoveOptions{}); !errdefs.IsNotFound(err) {
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
	if _, err := f.ListContainers(ctx, engine.ListOptions{Names: []string{"("}}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad regexp: %v", err)
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
	f.InjectPersistentError("Version", errdefs.ErrUnavailable)
	for range 2 {
		if _, err := f.Version(ctx); !errdefs.IsUnavailable(err) {
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
	if _, err := f.Info(tctx); !errdefs.IsDeadlineExceeded(err) {
		t.Fatalf("delayed call: %v, want DeadlineExceeded", err)
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
