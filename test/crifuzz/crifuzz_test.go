package crifuzz

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

// prefix names everything this test makes.
const prefix = "dltrob"

// TestCRIFuzz runs the fuzzer against `dockerlet serve` on the real
// engine. CRIFUZZ_REQUESTS (default 3000) and CRIFUZZ_SEED (default 1) set
// the run; CRIFUZZ_REPORT names a file for the counts (the server's log is
// kept beside it, as FILE.serve.log).
func TestCRIFuzz(t *testing.T) {
	testutil.RequireDocker(t)
	requests := testutil.EnvInt(t, "CRIFUZZ_REQUESTS", 3000)
	seed := int64(testutil.EnvInt(t, "CRIFUZZ_SEED", 1))
	ctx := context.Background()

	eng, err := engine.Connect(testutil.DockerHost(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	reg := testutil.StartRegistry(t)
	busybox := reg.PushBusybox(t, prefix+"/busybox:fuzz", testutil.ImageOptions{Marker: prefix + "-fuzz"})
	spare := reg.PushBusybox(t, prefix+"/spare:fuzz", testutil.ImageOptions{Marker: prefix + "-spare"})
	pause := reg.PushBusybox(t, prefix+"/pause:fuzz", testutil.ImageOptions{
		Marker: prefix + "-pause", Cmd: []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
	})
	t.Cleanup(func() {
		for _, ref := range []string{busybox, spare, pause} {
			_, _ = eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
		}
	})
	if err := eng.PullImage(ctx, busybox, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	img, err := eng.InspectImageByRef(ctx, busybox)
	if err != nil {
		t.Fatal(err)
	}

	// A user's container with a Kubernetes-looking name and a look-alike
	// type label: no RPC may touch it.
	foreignName := fmt.Sprintf("k8s_fake_%s-fuzz-%d_ns_uid_0", prefix, time.Now().UnixNano()%1e9)
	foreign, err := eng.CreateContainer(ctx, engine.CreateSpec{
		Name:       foreignName,
		Config:     &container.Config{Image: busybox, Cmd: []string{"true"}, Labels: map[string]string{naming.LabelType: naming.TypeSandbox}},
		HostConfig: &container.HostConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.RemoveContainer(context.Background(), foreign, engine.RemoveOptions{Force: true}) })

	dir, err := os.MkdirTemp("/tmp/dltrob", "fuzz-")
	if err != nil {
		if err := os.MkdirAll("/tmp/dltrob", 0o755); err != nil {
			t.Fatal(err)
		}
		if dir, err = os.MkdirTemp("/tmp/dltrob", "fuzz-"); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Chmod(dir, 0o750)
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv := serveproc.New(t, serveproc.Options{Dir: dir, PauseImage: pause})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	t.Cleanup(func() { removeLeftovers(t, eng, srv.Root) })
	conn, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	f := New(Target{
		Runtime: runtimeapi.NewRuntimeServiceClient(conn),
		Image:   runtimeapi.NewImageServiceClient(conn),
		Alive:   srv.Alive,
		Restart: func() error { return srv.Start(ctx) },
	}, Config{
		Seed: seed, Requests: requests, Prefix: prefix + "-fz", WorkDir: dir,
		RegistryHost: reg.Host, BusyboxImage: busybox, BusyboxID: img.ID, PauseImage: pause, SpareImage: spare,
		ForeignID: foreign, ForeignName: foreignName,
		Progress: func(done int, r *Report) {
			if done%10000 == 0 {
				t.Logf("%d requests, %d failures, codes %v", done, len(r.Failures), r.ByCode)
			}
		},
	})
	rep := f.Run(ctx)
	t.Logf("\n%s\n%s", rep.Markdown(), rep.RPCTable())
	for _, s := range rep.InternalSamples {
		t.Logf("Internal sample: %s: %s", s.RPC, s.Err)
	}

	// Every method was exercised.
	for _, name := range f.RPCNames() {
		if len(rep.ByRPC[name]) == 0 && requests >= 1000 {
			t.Errorf("%s was never called", name)
		}
	}
	for _, fl := range rep.Failures {
		t.Errorf("%s in %s: %s\nrequest: %s", fl.Kind, fl.RPC, fl.Err, fl.Request)
	}
	if !srv.Alive() {
		t.Errorf("server exited: %v", srv.ExitErr())
	}
	if requests >= 1000 && (rep.SandboxesCreated == 0 || rep.ContainersStarted == 0) {
		t.Errorf("no real pods were made (%d sandboxes, %d containers started)", rep.SandboxesCreated, rep.ContainersStarted)
	}

	// Nothing of the server's is left once its pods are removed.
	leaks := ownContainers(t, eng, srv.Root)
	for _, c := range leaks {
		t.Errorf("leaked container %s %v (%s)", c.ID[:12], c.Names, c.State)
	}
	// The foreign container is untouched.
	fc, err := eng.InspectContainer(ctx, foreign)
	if err != nil {
		t.Errorf("the foreign container is gone: %v", err)
	} else if fc.State == nil || fc.State.Status != "created" {
		t.Errorf("the foreign container changed state: %+v", fc.State)
	}

	if path := os.Getenv("CRIFUZZ_REPORT"); path != "" {
		out := fmt.Sprintf("%s\nleaked containers: %d; foreign container intact: %v; server alive: %v\n\n%s",
			rep.Markdown(), len(leaks), err == nil, srv.Alive(), rep.RPCTable())
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Error(err)
		}
		// The server's log beside it (its directory goes with the test).
		if log, err := os.ReadFile(srv.LogPath); err == nil {
			_ = os.WriteFile(path+".serve.log", log, 0o600)
		}
	}
}

// ownContainers lists the containers the server under test made.
func ownContainers(t *testing.T, eng engine.Engine, root string) []container.Summary {
	t.Helper()
	list, err := eng.ListContainers(context.Background(), engine.ListOptions{All: true, Labels: []string{
		naming.ManagedLabelFilter, naming.LabelPrefix + "root-dir=" + root,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// removeLeftovers removes what a failed run left, so the shared engine
// stays clean.
func removeLeftovers(t *testing.T, eng engine.Engine, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{naming.LabelPrefix + "root-dir=" + filepath.Clean(root)}})
	if err != nil {
		return
	}
	for _, c := range list {
		_ = eng.RemoveContainer(ctx, c.ID, engine.RemoveOptions{Force: true, RemoveVolumes: true})
	}
}
