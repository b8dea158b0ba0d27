package privdockerd_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
)

// TestRestartAndCleanup: a container on the private daemon keeps running
// across a restart with live-restore and is stopped by one without; the
// clean-up leaves no mount, directory, bridge or process.
func TestRestartAndCleanup(t *testing.T) {
	privdockerd.Require(t)
	reg := testutil.StartRegistry(t)
	ref := reg.PushBusybox(t, "dlrs/busybox:priv", testutil.ImageOptions{Marker: "dlrs-priv"})
	for _, live := range []bool{true, false} {
		name := map[bool]string{true: "live-restore", false: "no-live-restore"}[live]
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			d := privdockerd.Start(t, privdockerd.Options{LiveRestore: live})
			eng, err := engine.Connect(d.Host, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			if err := eng.PullImage(ctx, ref, engine.PullOptions{}); err != nil {
				t.Fatal(err)
			}
			id, err := eng.CreateContainer(ctx, engine.CreateSpec{Name: "dlrs-priv", Config: &container.Config{
				Image: ref, Cmd: []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.StartContainer(ctx, id); err != nil {
				t.Fatal(err)
			}
			if err := d.Restart(ctx, 500*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			in, err := eng.InspectContainer(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if in.State.Running != live {
				t.Errorf("after restart: running=%v, want %v (status %s)", in.State.Running, live, in.State.Status)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if m, _ := d.Mounts(); len(m) > 0 {
				t.Errorf("mounts left: %v", m)
			}
			for _, dir := range []string{d.DataRoot, d.RunDir} {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("%s left (%v)", dir, err)
				}
			}
			if _, err := os.Stat("/sys/class/net/" + d.Bridge); !os.IsNotExist(err) {
				t.Errorf("bridge %s left", d.Bridge)
			}
			if privdockerd.HasForward(d.Bridge) {
				t.Errorf("bridge %s: forwarding rule left", d.Bridge)
			}
		})
	}
}

// TestEngineAndImageStore: the daemon runs the engine and image store that
// DOCKERLET_ENGINE and DOCKERLET_IMAGE_STORE ask for (the system's 20.10 by
// default; the Docker 29 build, with the graph driver or containerd's
// snapshotter, when asked).
func TestEngineAndImageStore(t *testing.T) {
	privdockerd.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := privdockerd.Start(t, privdockerd.Options{})
	eng, err := engine.Connect(d.Host, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	v, err := eng.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info, err := eng.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snapshotter := false
	for _, kv := range info.DriverStatus {
		snapshotter = snapshotter || kv[0] == "driver-type" && strings.HasPrefix(kv[1], "io.containerd.snapshotter")
	}
	t.Logf("engine %s: Docker %s, API %s, storage %s (snapshotter %v)", d.Engine, v.Version, v.APIVersion, info.Driver, snapshotter)
	wantPrefix := map[string]string{privdockerd.EngineSystem: "20.10.", privdockerd.Engine29: "29."}[d.Engine]
	if !strings.HasPrefix(v.Version, wantPrefix) {
		t.Errorf("engine %s runs Docker %s", d.Engine, v.Version)
	}
	if snapshotter != (d.ImageStore == privdockerd.StoreContainerd) {
		t.Errorf("image store %s, but docker info says driver %s with status %v", d.ImageStore, info.Driver, info.DriverStatus)
	}
}
