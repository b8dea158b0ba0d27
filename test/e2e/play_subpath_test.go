package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// TestPlaySubPath: sub path mounts of a directory and of a file reach the
// container through dockerlet's pins (as root), a writer's files show in
// the other container, and `down` unpins and removes the pod directory
// without touching the volume's host files.
func TestPlaySubPath(t *testing.T) {
	p := newPlayer(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "conf"), []byte("from-the-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := p.manifest("subpath.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-subpath, namespace: dltplay}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: writer
    image: `+busyboxImage+`
    command: [sh, -c, "echo written > /out/note"]
    volumeMounts: [{name: scratch, mountPath: /out, subPath: a/b}]
  containers:
  - name: reader
    image: `+busyboxImage+`
    command: [sh, -c, "cat /in/note /etc/app.conf"]
    volumeMounts:
    - {name: scratch, mountPath: /in, subPath: a/b}
    - {name: host, mountPath: /etc/app.conf, subPath: conf}
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: host, hostPath: {path: `+host+`}}
`)
	p.mustRun("play", "-d", file)
	p.waitPod("dltplay-subpath", 90*time.Second, "Succeeded", func(s pod.PodStatus) bool { return s.Phase == corev1.PodSucceeded })
	logs := p.mustRun("logs", "-n", "dltplay", "dltplay-subpath", "-c", "reader")
	if !strings.Contains(logs, "written") || !strings.Contains(logs, "from-the-host") {
		t.Fatalf("reader saw %q, want the writer's note and the host file", logs)
	}
	if os.Geteuid() == 0 {
		pins, _ := filepath.Glob(filepath.Join(p.state, "pods", "*", "volume-subpaths", "*", "*"))
		if len(pins) != 3 {
			t.Errorf("pins %v, want three (writer's, reader's two)", pins)
		}
	}
	p.mustRun("down", file)
	if b, err := os.ReadFile(filepath.Join(host, "conf")); err != nil || string(b) != "from-the-host\n" {
		t.Fatalf("host file after down: %q %v", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(p.state, "pods", "*")); len(left) != 0 {
		t.Fatalf("pod directories left after down: %v", left)
	}
}
