package cri

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

func (h *harness) exists(id string) bool {
	_, err := h.fake.InspectContainer(h.ctx, id)
	return err == nil
}

// runHalfSandbox runs a sandbox and leaves its checkpoint as a crash
// before RunPodSandbox's end leaves it: not complete.
func (h *harness) runHalfSandbox(name string) string {
	h.t.Helper()
	id := h.runSandbox(name)
	cp, err := h.svc.ckpt.Load(id)
	if err != nil || cp == nil {
		h.t.Fatal(cp, err)
	}
	cp.Complete = false
	if err := h.svc.ckpt.Save(cp); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// TestReconcileAfterCrash plays what a kill -9 at each step of the
// lifecycle leaves behind, then restarts the server.
func TestReconcileAfterCrash(t *testing.T) {
	h := newHarness(t)
	// A complete, running pod with a container: kept.
	good := h.runSandbox("good")
	goodCtr := h.createContainer(good, "app")
	// A complete pod that was stopped: kept (the kubelet removes it).
	stopped := h.runSandbox("stopped")
	if _, err := h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: stopped}); err != nil {
		t.Fatal(err)
	}
	// Crash after the network was set up, before the final checkpoint.
	half := h.runHalfSandbox("half")
	// Crash between creating the pause container and the first checkpoint.
	spec, err := h.svc.sandboxSpec(sandboxConfig("early"), "")
	if err != nil {
		t.Fatal(err)
	}
	h.svc.markOwned(spec)
	early, err := h.fake.CreateContainer(h.ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// Another server's half-made sandbox on the same engine: not ours.
	spec3, err := h.svc.sandboxSpec(sandboxConfig("other"), "")
	if err != nil {
		t.Fatal(err)
	}
	spec3.Config.Labels[naming.LabelRootDir] = "/var/lib/another-dockerlet"
	other, err := h.fake.CreateContainer(h.ctx, spec3)
	if err != nil {
		t.Fatal(err)
	}
	// A container whose sandbox is gone, and a checkpoint without container.
	orphanSb := h.runSandbox("orphan")
	orphanCtr := h.createContainer(orphanSb, "app")
	if err := h.fake.RemoveContainer(h.ctx, orphanSb, engine.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	// A user's container with a k8s_ name: never touched.
	foreign, err := h.fake.CreateContainer(h.ctx, engine.CreateSpec{
		Name:       "k8s_fake_pod_ns_uid_0",
		Config:     &container.Config{Image: testImage, Labels: map[string]string{naming.LabelType: naming.TypeSandbox}},
		HostConfig: &container.HostConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(h.svc.ckpt.dir, ".tmp-123")
	if err := os.WriteFile(tmp, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // file times and labels before the restart

	h.svc = h.restart()
	// Made by the new process while it reconciles: not touched.
	spec2, err := h.svc.sandboxSpec(sandboxConfig("fresh"), "")
	if err != nil {
		t.Fatal(err)
	}
	h.svc.markOwned(spec2)
	fresh, err := h.fake.CreateContainer(h.ctx, spec2)
	if err != nil {
		t.Fatal(err)
	}
	h.svc.Reconcile(h.ctx)

	for name, id := range map[string]string{"good": good, "good container": goodCtr, "stopped": stopped, "foreign": foreign, "fresh": fresh, "other server's": other} {
		if !h.exists(id) {
			t.Errorf("%s (%s) was removed", name, id)
		}
	}
	for name, id := range map[string]string{"half": half, "early": early, "orphan container": orphanCtr} {
		if h.exists(id) {
			t.Errorf("%s (%s) survived the restart", name, id)
		}
	}
	for name, id := range map[string]string{"half": half, "orphan": orphanSb} {
		if cp, _ := h.svc.ckpt.Load(id); cp != nil {
			t.Errorf("checkpoint of %s survived", name)
		}
	}
	if cp, _ := h.svc.ckpt.Load(good); cp == nil || !cp.Complete {
		t.Errorf("checkpoint of the good pod: %+v", cp)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temp checkpoint file survived: %v", err)
	}
	// The half pod can be run again at once (no AlreadyExists).
	if _, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("half")}); err != nil {
		t.Errorf("rerun of the rolled-back pod: %v", err)
	}
}

func TestMadeBefore(t *testing.T) {
	h := newHarness(t)
	s := h.svc
	before := strconv.FormatInt(s.started.UnixNano()-1, 10)
	after := strconv.FormatInt(s.started.UnixNano()+1, 10)
	if !s.madeBefore(map[string]string{naming.LabelCreated: before}, 0) || s.madeBefore(map[string]string{naming.LabelCreated: after}, 0) {
		t.Error("label time not honoured")
	}
	if !s.madeBefore(nil, s.started.Unix()-5) || s.madeBefore(nil, s.started.Unix()+5) {
		t.Error("engine time not honoured")
	}
}

// TestReconcileRollsBackInParallel: the server serves nothing until
// Reconcile is done, so half-made sandboxes are rolled back side by side,
// not one Docker round trip after the other (8 of them took over a minute
// on a busy host before).
func TestReconcileRollsBackInParallel(t *testing.T) {
	const n, delay = 8, 2 * time.Second
	h := newHarness(t)
	var ids []string
	for i := range n {
		ids = append(ids, h.runHalfSandbox("half"+strconv.Itoa(i)))
	}
	time.Sleep(10 * time.Millisecond) // labels before the restart
	h.svc = h.restart()
	h.fake.SetDelay("RemoveContainer", delay)
	start := time.Now()
	h.svc.Reconcile(h.ctx)
	took := time.Since(start)
	for _, id := range ids {
		if h.exists(id) {
			t.Errorf("half-made sandbox %s survived", id)
		}
	}
	// One after the other: n × delay (16 s). Side by side: about one delay.
	if took >= n*delay/2 {
		t.Errorf("Reconcile of %d half-made sandboxes took %v, each remove %v: not in parallel", n, took.Round(time.Millisecond), delay)
	}
}
