package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// TestPlayShippedExamples runs `dockerlet play examples/` as the README's
// first command does: every pod ready (the Job done), the web page served
// on the host port, and `down` leaves nothing.
func TestPlayShippedExamples(t *testing.T) {
	p := newPlayer(t)
	if l, err := net.Listen("tcp", "0.0.0.0:18080"); err != nil {
		t.Skipf("host port 18080 of examples/web.yaml is in use here: %v", err)
	} else {
		l.Close()
	}
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(self), "..", "..", "examples")
	out, code := p.run("", "play", "--wait", "--timeout", "90s", dir)
	if code != 0 {
		t.Fatalf("play examples/: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "warning:") {
		t.Errorf("the shipped examples use fields dockerlet ignores:\n%s", out)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://127.0.0.1:18080/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Hello from dockerlet") {
		t.Fatalf("web page: %q", body)
	}
	// --wait returned with the Job Complete: its one pod (count-<5
	// random characters>) Succeeded.
	jobPods := podsOf(p.pods(), "count-")
	if len(jobPods) != 1 || jobPods[0].Phase != corev1.PodSucceeded {
		t.Fatalf("the Job's pods: %+v", jobPods)
	}
	st := jobPods[0]
	if logs := p.mustRun("logs", st.Name); !strings.Contains(logs, "done") {
		t.Fatalf("job logs: %q", logs)
	}
	uids := []string{st.UID}
	for _, n := range []string{"web", "shared"} {
		uids = append(uids, p.pods()[n].UID)
	}
	p.mustRun("down", dir)
	for _, uid := range uids {
		if left := p.containersOf(uid); len(left) != 0 {
			t.Fatalf("down left %v", left)
		}
	}
}

// TestPlaySupervisorRestart: pods outlive the background supervisor, and
// a new supervisor adopts them (same sandbox) and applies the restart
// policy again.
func TestPlaySupervisorRestart(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("keep.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: keep-cfg, namespace: dltplay}
data: {greeting: hello-volume}
---
apiVersion: v1
kind: Pod
metadata: {name: dltplay-keep, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: `+busyboxImage+`
    command: [sh, -c, "trap 'exit 0' TERM; i=0; while :; do echo tick $i; i=$((i+1)); sleep 1; done"]
    volumeMounts: [{name: cfg, mountPath: /cfg}]
  volumes:
  - {name: cfg, configMap: {name: keep-cfg}}
`)
	p.mustRun("play", "--wait", "--timeout", "60s", file)
	before := p.pods()["dltplay-keep"]
	p.killDaemon()
	waitFor(t, "the supervisor to exit", func() bool { return !lockHeld(p) })
	ins, err := p.eng.InspectContainer(context.Background(), before.Containers[0].ID)
	if err != nil || !ins.State.Running {
		t.Fatalf("container did not outlive the supervisor: %v", err)
	}
	// With no supervisor, get pods reads the state from the runtime.
	if st := p.pods()["dltplay-keep"]; st.Containers[0].ID != before.Containers[0].ID || st.Containers[0].State != pod.StateRunning || st.PodIP != before.PodIP {
		t.Fatalf("observed without a supervisor: %+v", st)
	}
	// Re-playing the unchanged file starts a supervisor that adopts the pod.
	p.mustRun("play", "--wait", "--timeout", "60s", file)
	after := p.pods()["dltplay-keep"]
	if after.UID != before.UID || after.SandboxID != before.SandboxID || after.Containers[0].ID != before.Containers[0].ID {
		t.Fatalf("pod re-created instead of adopted:\nbefore %+v\nafter  %+v", before, after)
	}
	// The configMap volume the running container mounted is still there.
	if out := p.mustRun("exec", "-n", "dltplay", "dltplay-keep", "--", "cat", "/cfg/greeting"); out != "hello-volume" {
		t.Fatalf("configMap volume after the supervisor restart: %q", out)
	}
	// The new supervisor copies the container's output again, from where
	// the old one stopped: no tick lost, none twice.
	var logs string
	waitFor(t, "logs to go on after the supervisor restart", func() bool {
		logs = p.mustRun("logs", "-n", "dltplay", "dltplay-keep")
		return strings.Count(logs, "tick") >= 8
	})
	for i := 0; i < strings.Count(logs, "tick"); i++ {
		if strings.Count(logs, fmt.Sprintf("tick %d\n", i)) != 1 {
			t.Fatalf("tick %d not exactly once in the logs:\n%s", i, logs)
		}
	}
	if err := p.eng.KillContainer(context.Background(), after.Containers[0].ID, "KILL"); err != nil {
		t.Fatal(err)
	}
	st := p.waitPod("dltplay-keep", 60*time.Second, "a restart by the new supervisor", func(s pod.PodStatus) bool {
		return s.Containers[0].RestartCount == 1 && s.Containers[0].State == pod.StateRunning
	})
	if st.SandboxID != before.SandboxID {
		t.Fatalf("sandbox changed: %s → %s", before.SandboxID, st.SandboxID)
	}
}

func lockHeld(p *player) bool {
	out, _ := p.run("", "get", "pods", "-A")
	return !strings.Contains(out, "no supervisor is running")
}

// TestPlaySandboxRecreated: when the sandbox (pause) container dies, the
// pod gets a new sandbox and its containers start again in it, their
// restart counts going on.
func TestPlaySandboxRecreated(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("sb.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-sb, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: `+busyboxImage+`
    command: `+idleCmd("")+`
`)
	p.mustRun("play", "--wait", "--timeout", "60s", file)
	before := p.pods()["dltplay-sb"]
	if err := p.eng.KillContainer(context.Background(), before.SandboxID, "KILL"); err != nil {
		t.Fatalf("kill the sandbox container: %v", err)
	}
	// Until the old container is replaced the status may show the new
	// sandbox beside it: wait for the container's next start.
	st := p.waitPod("dltplay-sb", 60*time.Second, "a new sandbox and the container started in it", func(s pod.PodStatus) bool {
		return s.SandboxID != before.SandboxID && s.Ready && len(s.Containers) == 1 && s.Containers[0].RestartCount > 0
	})
	if st.Containers[0].RestartCount != 1 || st.Containers[0].ID == before.Containers[0].ID {
		t.Fatalf("restart count after the sandbox changed: %+v", st.Containers[0])
	}
}
