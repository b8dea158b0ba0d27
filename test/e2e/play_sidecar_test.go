package e2e

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// TestPlaySidecar: a restartable init container (restartPolicy: Always)
// runs beside the app; when the app is done the sidecar is stopped and the
// pod Succeeded.
func TestPlaySidecar(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("sidecar.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-sidecar, namespace: dltplay}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  initContainers:
  - name: feeder
    image: `+busyboxImage+`
    restartPolicy: Always
    command: [sh, -c, "trap 'exit 0' TERM; while :; do date >> /data/feed; sleep 1; done"]
    startupProbe:
      exec: {command: [test, -s, /data/feed]}
      periodSeconds: 1
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: app
    image: `+busyboxImage+`
    command: [sh, -c, "sleep 3; echo lines=$(wc -l < /data/feed)"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - {name: data, emptyDir: {}}
`)
	out := p.mustRun("play", "-d", file)
	if strings.Contains(out, "warning:") {
		t.Fatalf("sidecar fields warned:\n%s", out)
	}
	st := p.waitPod("dltplay-sidecar", 90*time.Second, "Succeeded", func(s pod.PodStatus) bool { return s.Phase == corev1.PodSucceeded })
	side := st.InitContainers[0]
	if !side.Sidecar || side.State != pod.StateTerminated {
		t.Fatalf("sidecar after the app finished: %+v", side)
	}
	if logs := p.mustRun("logs", "-n", "dltplay", "dltplay-sidecar", "-c", "app"); !strings.Contains(logs, "lines=") || strings.Contains(logs, "lines=0") {
		t.Fatalf("app saw no feed: %q", logs)
	}
}
