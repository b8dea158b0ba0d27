package adopt

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/adopt/adopttest"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/naming"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want parsedName
		ok   bool
	}{
		{"/k8s_POD_web_default_uid1_0", parsedName{"POD", "web", "default", "uid1", 0}, true},
		{"k8s_app_web_default_uid1_3", parsedName{"app", "web", "default", "uid1", 3}, true},
		// cri-dockerd's random suffix after a name conflict.
		{"k8s_app_web_default_uid1_3_0a1b2c3d", parsedName{"app", "web", "default", "uid1", 3}, true},
		{"k8s_app_web_default_uid1", parsedName{}, false},
		{"k8s_app_web_default_uid1_x", parsedName{}, false},
		{"k8s_app_web_default_uid1_1_2_3", parsedName{}, false},
		{"dlad_app_web_default_uid1_1", parsedName{}, false},
		{"k8s__web_default_uid1_1", parsedName{}, false},
	} {
		got, err := parseName(tc.name)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseName(%q) = %+v, %v; want %+v ok=%v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

func TestReadCheckpoints(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, checkpointDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	id := func(c byte) string {
		b := make([]byte, 64)
		for i := range b {
			b[i] = c
		}
		return string(b)
	}
	files := map[string]string{
		id('a'):          `{"version":"v1","name":"web","namespace":"default","data":{"port_mappings":[{"protocol":"tcp","container_port":80,"host_port":8080}],"host_network":true},"checksum":1}`,
		id('b'):          `{"version":"v2","name":"web","namespace":"default"}`,
		id('c'):          `not json`,
		"." + id('d'):    `{"version":"v1","name":"tmp","namespace":"default"}`,
		"not-an-id":      `{"version":"v1","name":"x","namespace":"default"}`,
		id('e') + ".bak": `{"version":"v1","name":"x","namespace":"default"}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var skipped []string
	cps, err := readCheckpoints(root, func(p string, _ error) { skipped = append(skipped, filepath.Base(p)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 1 || cps[id('a')] == nil || !cps[id('a')].Data.HostNetwork || *cps[id('a')].Data.PortMappings[0].HostPort != 8080 {
		t.Errorf("checkpoints %v", cps)
	}
	if len(skipped) != 2 {
		t.Errorf("skipped %v, want the v2 and the corrupt one", skipped)
	}
	if !HasCheckpoints(root) || HasCheckpoints(t.TempDir()) {
		t.Error("HasCheckpoints")
	}
	if cps, err := readCheckpoints(filepath.Join(root, "missing"), nil); err != nil || cps != nil {
		t.Errorf("a missing directory: %v %v", cps, err)
	}
}

func newFake(t *testing.T) *fake.Fake {
	t.Helper()
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{"pause:3.10"}})
	f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	return f
}

func pod(name string) adopttest.Pod {
	return adopttest.Pod{
		Name: name, Namespace: "ns", UID: "uid-" + name, PauseImage: "pause:3.10", LogDirectory: "/var/log/pods/x",
		Labels:      map[string]string{"io.kubernetes.pod.name": name},
		Annotations: map[string]string{"kubernetes.io/config.source": "api"},
		Containers:  []adopttest.Container{{Name: "c", Image: "busybox:latest", Labels: map[string]string{"io.kubernetes.container.name": "c"}}},
		Start:       true,
	}
}

func scan(t *testing.T, eng engine.Engine, root string) *Set {
	t.Helper()
	s, err := Scan(context.Background(), eng, Options{RootDir: root, Owner: "/var/lib/dockerlet", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Only what cri-dockerd made and checkpointed in this root directory is
// adopted, and shown with dockerlet's labels.
func TestScanAdoptsOnlyCheckpointedPods(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	root := t.TempDir()
	web := pod("web")
	// Docker copies an image's labels onto its containers: dockerlet's
	// own pause image carries one of dockerlet's.
	web.Labels[naming.LabelLocalImage] = "true"
	mine, err := adopttest.Make(ctx, f, root, web)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adopttest.Make(ctx, f, t.TempDir(), pod("other")); err != nil {
		t.Fatal(err)
	}
	// A sandbox whose checkpoint names another pod is not adopted.
	wrong, err := adopttest.Make(ctx, f, t.TempDir(), pod("wrong"))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"version":"v1","name":"someone-else","namespace":"ns","checksum":1}`
	if err := os.WriteFile(filepath.Join(root, checkpointDir, wrong.SandboxID), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nor is a container carrying dockerlet's labels beside cri-dockerd's.
	forged, err := f.CreateContainer(ctx, engine.CreateSpec{Name: "k8s_POD_forged_ns_u_0", Config: &container.Config{
		Image: "pause:3.10", Labels: map[string]string{naming.CRIDockerdLabelType: naming.CRIDockerdTypeSandbox, naming.LabelManaged: "true"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, checkpointDir, forged), []byte(`{"version":"v1","name":"forged","namespace":"ns"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	s := scan(t, f, root)
	if got := s.IDs(naming.TypeSandbox); len(got) != 1 || got[0] != mine.SandboxID {
		t.Errorf("adopted sandboxes %v, want %s", got, mine.SandboxID)
	}
	if got := s.IDs(naming.TypeContainer); len(got) != 1 || got[0] != mine.ContainerIDs[0] {
		t.Errorf("adopted containers %v, want %v", got, mine.ContainerIDs)
	}
	l := s.labelsOf(mine.ContainerIDs[0])
	want := map[string]string{
		naming.LabelManaged: "true", naming.LabelType: naming.TypeContainer, naming.LabelRootDir: "/var/lib/dockerlet",
		naming.LabelSandboxID: mine.SandboxID, naming.LabelPodName: "web", naming.LabelPodNamespace: "ns",
		naming.LabelPodUID: "uid-web", naming.LabelContainerName: "c", naming.LabelAttempt: "0",
		naming.LabelLogPath: "/var/log/pods/x/c/0.log", naming.LabelAdopted: naming.AdoptedFromCRIDockerd,
		naming.LabelUserPrefix + "io.kubernetes.container.name": "c",
		naming.CRIDockerdLabelSandboxID:                         mine.SandboxID,
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("label %s = %q, want %q", k, l[k], v)
		}
	}
	for _, k := range []string{naming.LabelUserPrefix + naming.CRIDockerdLabelType, naming.LabelUserPrefix + naming.CRIDockerdLabelLogPath, naming.LabelLogDir} {
		if _, ok := l[k]; ok {
			t.Errorf("label %s shown", k)
		}
	}
	sl := s.labelsOf(mine.SandboxID)
	if sl[naming.LabelUserPrefix+naming.LabelLocalImage] != "true" {
		t.Errorf("an image's label not reported as a CRI label, as cri-dockerd reports it: %v", sl)
	}
	if sl[naming.LabelAnnotationPrefix+"kubernetes.io/config.source"] != "api" || sl[naming.LabelCNICacheDir] != DefaultCNICacheDir ||
		sl[naming.LabelNSNetwork] != "0" || sl[naming.LabelNSPID] != "1" {
		t.Errorf("sandbox labels %v", sl)
	}
	if _, ok := sl[naming.LabelUserPrefix+naming.CRIDockerdLabelContainerName]; ok {
		t.Error("the sandbox's container name label shown as a CRI label (cri-dockerd hides it)")
	}
}

func TestWrapWithNothingAdoptedIsTheEngine(t *testing.T) {
	f := newFake(t)
	if eng := scan(t, f, t.TempDir()).Wrap(f); eng != engine.Engine(f) {
		t.Error("nothing adopted, yet the engine is wrapped")
	}
}

// The wrapped engine lists, inspects and streams the adopted containers as
// dockerlet's, and cleans up after their removal as cri-dockerd would.
func TestWrappedEngine(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	root := t.TempDir()
	p := pod("web")
	p.LogDirectory = t.TempDir()
	made, err := adopttest.Make(ctx, f, root, p)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(made.LogPaths[0]); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("cri-dockerd's log symlink: %v %v", fi, err)
	}
	s := scan(t, f, root)
	eng := s.Wrap(f)

	owner := naming.LabelRootDir + "=/var/lib/dockerlet"
	list, err := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{owner, naming.LabelType + "=" + naming.TypeContainer}})
	if err != nil || len(list) != 1 || list[0].ID != made.ContainerIDs[0] || list[0].Labels[naming.LabelManaged] != "true" {
		t.Fatalf("list %v, %v", list, err)
	}
	if list, _ := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{naming.LabelRootDir + "=/elsewhere"}}); len(list) != 0 {
		t.Errorf("another owner's listing: %v", list)
	}
	// A listing by name, without label filters: once, as dockerlet's.
	byName, err := eng.ListContainers(ctx, engine.ListOptions{All: true, Names: []string{adopttest.SandboxName(p)}})
	if err != nil || len(byName) != 1 || byName[0].Labels[naming.LabelType] != naming.TypeSandbox {
		t.Errorf("listing by name: %v, %v", byName, err)
	}
	all, err := eng.ListContainers(ctx, engine.ListOptions{All: true})
	if err != nil || len(all) != 2 {
		t.Errorf("unfiltered listing: %d containers, %v; want the sandbox and the container once each", len(all), err)
	}
	in, err := eng.InspectContainer(ctx, made.SandboxID[:12])
	if err != nil || in.Config.Labels[naming.LabelType] != naming.TypeSandbox {
		t.Fatalf("inspect %v, %v", in, err)
	}
	if raw, _ := f.InspectContainer(ctx, made.SandboxID); raw.Config.Labels[naming.LabelType] != "" {
		t.Error("the fake's own record was changed")
	}

	evCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errc := eng.Events(evCtx, engine.EventsOptions{Labels: []string{owner}})
	if err := f.StopContainer(ctx, made.ContainerIDs[0], 0); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.ContainerID != made.ContainerIDs[0] {
			t.Errorf("event of %s", ev.ContainerID)
		}
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no event for the adopted container")
	}
	cancel()
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not end with its context")
	}

	if err := eng.RemoveContainer(ctx, made.ContainerIDs[0], engine.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(made.LogPaths[0]); !os.IsNotExist(err) {
		t.Errorf("log symlink left: %v", err)
	}
	if err := eng.RemoveContainer(ctx, made.SandboxID, engine.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, checkpointDir, made.SandboxID)); !os.IsNotExist(err) {
		t.Errorf("checkpoint left: %v", err)
	}
	if s.Len() != 0 {
		t.Errorf("%d still adopted", s.Len())
	}
}
