package node

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Deleting the manifest removes every container of the pod from Docker:
// the sandbox, the running containers, the exited init container and the
// dead instance of a restarted container.
func testDelete(t *testing.T, n *Node) {
	p := newPod("dlnode-delete", v1.RestartPolicyAlways,
		busybox("sleeper", "exec sleep 3600"),
		busybox("restarter", `if [ -f /state/once ]; then exec sleep 3600; fi; touch /state/once; exit 1`))
	p.Spec.InitContainers = []v1.Container{busybox("init", "true")}
	p.Spec.Volumes = []v1.Volume{{Name: "state", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
	p.Spec.Containers[1].VolumeMounts = []v1.VolumeMount{{Name: "state", MountPath: "/state"}}
	n.addPod(t, p)
	n.waitPod(t, p.Name, 2*time.Minute, func(p *v1.Pod) error {
		if err := restartedAtLeast("restarter", 1)(p); err != nil {
			return err
		}
		return podReady(p)
	})
	full := n.fullName(p.Name)
	docker := dockerClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	before := must(serverContainers(ctx, docker, n.Serve.Root, full)).get(t)
	// sandbox, init, sleeper, restarter and its dead first instance
	if len(before) < 5 {
		t.Fatalf("containers of the pod before deletion: %v, want at least 5", before)
	}

	links, _ := filepath.Glob(filepath.Join(legacyLogDir, full+"_*"))
	if len(links) < 4 {
		t.Errorf("kubelet log links of the pod: %v, want one per container", links)
	}

	n.deletePod(t, p.Name)
	n.waitGone(t, p.Name, 2*time.Minute)
	// The kubelet kills at once and removes in its container GC, which runs
	// once a minute.
	for {
		left, err := serverContainers(ctx, docker, n.Serve.Root, full)
		links, _ := filepath.Glob(filepath.Join(legacyLogDir, full+"_*"))
		if err == nil && len(left) == 0 && len(links) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("containers of %s still in Docker after deletion: %v (%v); log links: %v", full, left, err, links)
		case <-time.After(2 * time.Second):
		}
	}
}
