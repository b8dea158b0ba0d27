// Package soak runs `dockerlet serve` (the real binary, real dockerd, CNI
// networking) for a long while the way a node uses it: 110 pods, a
// kubelet-like poll every second (relist, every status, stats) and churn
// (a pod replaced every few seconds). After the run the server must hold
// what it held after warm-up — RSS, open files and goroutines within 10 %
// — have answered nothing but OK and the expected NotFound, and leave no
// container, checkpoint, CNI allocation or log copier behind.
//
// SOAK_DURATION (unset: the test skips; `make soak` sets 60m, CI a few
// minutes), SOAK_PODS (110), SOAK_CHURN (5s between replacements),
// SOAK_REPORT (a file for the figures).
package soak

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

const prefix = "dlsk"

// idleCmd waits without waking up (no process forked every second by 220
// containers) and ends on SIGTERM.
const idleCmd = "trap 'exit 0' TERM; echo started; sleep 1000000 & wait"

func TestSoak(t *testing.T) {
	duration := testutil.EnvDuration(t, "SOAK_DURATION", 0)
	if duration <= 0 {
		t.Skip("SOAK_DURATION unset (make soak runs 60 minutes)")
	}
	pods := testutil.EnvInt(t, "SOAK_PODS", 110)
	churnEvery := testutil.EnvDuration(t, "SOAK_CHURN", 5*time.Second)
	testutil.RequireDocker(t)
	testutil.RequireCNI(t, "bridge", "host-local")
	// The run, its warm-up, and starting and removing the pods: on a busy
	// host the last two took 13 min each at 110 pods.
	ctx, cancel := context.WithTimeout(context.Background(), duration+duration/10+45*time.Minute)
	defer cancel()

	reg := testutil.StartRegistry(t)
	busybox := reg.PushBusybox(t, prefix+"/busybox:soak", testutil.ImageOptions{Marker: prefix + "-soak"})
	pause := reg.PushBusybox(t, prefix+"/pause:soak", testutil.ImageOptions{Marker: prefix + "-soak-pause", Cmd: []string{"sh", "-c", idleCmd}})
	eng, err := engine.Connect(testutil.DockerHost(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	t.Cleanup(func() {
		for _, ref := range []string{busybox, pause} {
			_, _ = eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
		}
	})
	cni := testutil.NewCNINet(t, testutil.CNINetOptions{Prefix: prefix, IPMasq: true})
	dir, err := os.MkdirTemp("", prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o750)
	t.Cleanup(func() { os.RemoveAll(dir) })
	metricsAddr := serveproc.FreeAddr(t)
	srv := serveproc.New(t, serveproc.Options{Dir: dir, PauseImage: pause, Args: append(cni.ServeArgs(), "--metrics-bind-addr", metricsAddr)})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	t.Cleanup(func() { serveproc.RemoveOwn(eng, srv.Root) })
	conn, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rt, img := runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
	if _, err := img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: busybox}}); err != nil {
		t.Fatal(err)
	}
	s := &soak{t: t, ctx: ctx, rt: rt, busybox: busybox, logRoot: filepath.Join(dir, "logs"), tally: &tally{byCode: map[string]int{}}}
	idle := settle(t, metricsAddr)

	began := time.Now()
	s.startPods(pods)
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d pods running in %v", pods, time.Since(began).Round(time.Second))

	// Warm-up: a tenth of the run (at least a minute) with everything on,
	// so that caches, pools and the heap reach their working size.
	warm := max(duration/10, time.Minute)
	s.phase(warm, churnEvery, true)
	base := settle(t, metricsAddr)
	t.Logf("after warm-up (%v): %v", warm, base)
	s.phase(duration, churnEvery, true)
	end := settle(t, metricsAddr)
	t.Logf("after the run (%v): %v", duration, end)

	// Everything goes.
	s.removeAll()
	gone := settle(t, metricsAddr)

	report := s.report(pods, duration, churnEvery, idle, base, end, gone)
	t.Log("\n" + report)
	if path := os.Getenv("SOAK_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
	within := func(what string, got, want float64) {
		if got > want*1.10 {
			t.Errorf("%s after the run %.1f, after warm-up %.1f: more than 10 %% up", what, got, want)
		}
	}
	within("RSS (MiB)", end.RSS/(1<<20), base.RSS/(1<<20))
	within("open files", end.OpenFiles, base.OpenFiles)
	within("goroutines", end.Goroutines, base.Goroutines)
	for _, b := range s.tally.bad {
		t.Errorf("unexpected answer: %s", b)
	}
	checkNothingLeft(ctx, t, eng, srv.Root, cni, idle, gone)
}

// checkNothingLeft checks that the server, with every pod removed, left
// nothing behind: no container, checkpoint, IPAM reservation, veth or
// netns pin, and no log copier or stream (its goroutines and open files
// back to the idle server's).
func checkNothingLeft(ctx context.Context, t *testing.T, eng engine.Engine, root string, cni *testutil.CNINet, idle, gone serveproc.Gauges) {
	t.Helper()
	if list, err := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{naming.LabelPrefix + "root-dir=" + root}}); err != nil || len(list) != 0 {
		t.Errorf("%d containers of the server left (%v)", len(list), err)
	}
	if cps, _ := filepath.Glob(filepath.Join(root, "sandboxes", "*")); len(cps) != 0 {
		t.Errorf("%d checkpoints left: %v", len(cps), cps)
	}
	if r := cni.Reservations(t); len(r) != 0 {
		t.Errorf("IPAM reservations left: %v", r)
	}
	if p := cni.BridgePorts(t); len(p) != 0 {
		t.Errorf("veths left on the bridge: %v", p)
	}
	if pins, _ := filepath.Glob(filepath.Join(cni.NetNSDir, "*")); len(pins) != 0 {
		t.Errorf("netns pins left: %v", pins)
	}
	// Every pod's copier and connection gone: back to the idle server's
	// goroutines and files (a little slack for the gRPC connection and
	// the event stream's reconnects).
	if gone.Goroutines > idle.Goroutines+10 {
		t.Errorf("goroutines with no pod: %.0f, before any pod %.0f: copiers or streams left", gone.Goroutines, idle.Goroutines)
	}
	if gone.OpenFiles > idle.OpenFiles+10 {
		t.Errorf("open files with no pod: %.0f, before any pod %.0f", gone.OpenFiles, idle.OpenFiles)
	}
}
