package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/pod"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

const busyboxImage = "dockerlet.local/busybox:latest"

// TestPlaySharedEmptyDirAndDown: an init container prepares an emptyDir
// that two containers share; `down` then leaves nothing behind.
func TestPlaySharedEmptyDirAndDown(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("shared.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-shared, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 2
  initContainers:
  - name: init
    image: `+busyboxImage+`
    command: [sh, -c, "echo from-init > /data/f"]
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: writer
    image: `+busyboxImage+`
    command: `+idleCmd("echo from-writer >> /data/f")+`
    volumeMounts: [{name: data, mountPath: /data}]
  - name: reader
    image: `+busyboxImage+`
    command: `+idleCmd("")+`
    readinessProbe:
      exec: {command: [grep, -q, from-writer, /data/f]}
      periodSeconds: 1
    volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
  volumes:
  - {name: data, emptyDir: {}}
`)
	p.mustRun("play", "--wait", "--timeout", "90s", file)
	out := p.mustRun("exec", "-n", "dltplay", "dltplay-shared", "-c", "reader", "--", "cat", "/data/f")
	if !strings.Contains(out, "from-init\nfrom-writer") {
		t.Fatalf("shared file as the reader sees it: %q", out)
	}
	if out, code := p.run("", "exec", "-n", "dltplay", "dltplay-shared", "-c", "reader", "--", "sh", "-c", "echo x > /data/g"); code == 0 {
		t.Fatalf("read-only mount was writable: %s", out)
	}
	// exec -i streams standard input through the CRI's streaming server.
	if out, code := p.run("from-stdin\n", "exec", "-n", "dltplay", "-i", "dltplay-shared", "-c", "writer", "--", "sh", "-c", "cat > /data/s; cat /data/s; exit 4"); code != 4 || !strings.Contains(out, "from-stdin") {
		t.Fatalf("exec -i: exit %d, %q", code, out)
	}
	st := p.pods()["dltplay-shared"]
	if st.InitContainers[0].State != pod.StateTerminated || st.InitContainers[0].ExitCode != 0 {
		t.Fatalf("init container: %+v", st.InitContainers[0])
	}
	if len(p.containersOf(st.UID)) == 0 {
		t.Fatal("no Docker containers found for the pod")
	}
	p.mustRun("down", file)
	if left := p.containersOf(st.UID); len(left) != 0 {
		t.Fatalf("down left containers: %v", left)
	}
	if _, err := os.Stat(filepath.Join(p.state, "pods", st.UID)); !os.IsNotExist(err) {
		t.Fatalf("down left the pod directory (%v)", err)
	}
	if sts := p.pods(); len(sts) != 0 {
		t.Fatalf("pods after down: %v", sts)
	}
}

// TestPlayNeverExit3: restartPolicy Never and exit 3 → Failed with exit
// code 3, and play --wait says so with a non-zero exit. (A readiness probe
// that never passes keeps the pod from being Ready in the moment between
// start and exit: without it, --wait may rightly see a running container
// without probes as ready first — seen under load.)
func TestPlayNeverExit3(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("fail.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-fail, namespace: dltplay}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: `+busyboxImage+`
    command: [sh, -c, "echo bye; exit 3"]
    readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1}
`)
	out, code := p.run("", "play", "--wait", "--timeout", "60s", file)
	if code == 0 || !strings.Contains(out, "exited with code 3") {
		t.Fatalf("play --wait: exit %d, output:\n%s", code, out)
	}
	st := p.pods()["dltplay-fail"]
	if st.Phase != corev1.PodFailed || st.Containers[0].ExitCode != 3 || st.Containers[0].RestartCount != 0 {
		t.Fatalf("status: phase %s container %+v", st.Phase, st.Containers[0])
	}
	logs := p.mustRun("logs", "-n", "dltplay", "dltplay-fail")
	if !strings.Contains(logs, "bye") {
		t.Fatalf("logs: %q", logs)
	}
}

// TestPlayReadinessGatesWait: --wait returns only once the readiness probe
// passes, and times out (exit 124, with the reason) when it never does.
func TestPlayReadinessGatesWait(t *testing.T) {
	p := newPlayer(t)
	// readyPod becomes ready 3 s after its start.
	readyPod := func(name string) string {
		return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ` + busyboxImage + `
    command: ` + idleCmd("sleep 3; touch /tmp/ready") + `
    readinessProbe:
      exec: {command: [test, -f, /tmp/ready]}
      periodSeconds: 1
`
	}
	file := p.manifest("ready.yaml", readyPod("dltplay-ready")+`---
apiVersion: v1
kind: Pod
metadata: {name: dltplay-never-ready, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: `+busyboxImage+`
    command: `+idleCmd("")+`
    readinessProbe:
      exec: {command: [test, -f, /nonexistent]}
      periodSeconds: 1
`)
	start := time.Now()
	out, code := p.run("", "play", "--wait", "--timeout", "15s", file)
	last := out[strings.LastIndex(out, "timed out"):]
	if code != 124 || !strings.Contains(last, "dltplay-never-ready: container main running but not ready") || strings.Contains(last, "dltplay-ready: ") {
		t.Fatalf("play --wait: exit %d after %s, output:\n%s", code, time.Since(start), out)
	}
	sts := p.pods()
	if !sts["dltplay-ready"].Ready || sts["dltplay-never-ready"].Ready {
		t.Fatalf("ready: %v / %v", sts["dltplay-ready"].Ready, sts["dltplay-never-ready"].Ready)
	}

	file2 := p.manifest("ready-only.yaml", readyPod("dltplay-ready2"))
	p.mustRun("play", "--wait", "--timeout", "60s", file2)
	st := p.pods()["dltplay-ready2"]
	if !st.Ready {
		t.Fatalf("not ready after --wait returned: %+v", st)
	}
	// The probe gated it: --wait cannot return before the container has
	// run the 3 s it takes to become ready.
	if up := time.Since(st.Containers[0].StartedAt); up < 3*time.Second {
		t.Fatalf("ready after %s, before the container could pass its probe", up)
	}
}

// TestPlayLivenessRestartBackoff: a failing liveness probe restarts the
// container; the second restart waits for the back-off.
func TestPlayLivenessRestartBackoff(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("live.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-live, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: `+busyboxImage+`
    command: `+idleCmd("")+`
    livenessProbe:
      exec: {command: [test, -f, /tmp/healthy]}
      periodSeconds: 1
      failureThreshold: 1
`)
	p.mustRun("play", "-d", file)
	st := p.waitPod("dltplay-live", 90*time.Second, "2 restarts", func(s pod.PodStatus) bool {
		return len(s.Containers) == 1 && s.Containers[0].RestartCount >= 2
	})
	var kills, backoffs int
	var firstStart, lastStart time.Time
	for _, e := range st.Events {
		n := max(e.Count, 1) // repeats are aggregated
		switch e.Reason {
		case "Killing":
			kills += n
		case "Started":
			first := e.First
			if first.IsZero() {
				first = e.Time
			}
			if firstStart.IsZero() || first.Before(firstStart) {
				firstStart = first
			}
			if e.Time.After(lastStart) {
				lastStart = e.Time
			}
		}
		if strings.Contains(e.Message, "liveness probe") {
			backoffs += n
		}
	}
	if kills < 2 || backoffs < 2 {
		t.Fatalf("events: %+v", st.Events)
	}
	// Start 0, immediate restart 1, restart 2 only after the 10 s back-off.
	if gap := lastStart.Sub(firstStart); gap < pod.BackoffInitial {
		t.Fatalf("three starts within %s: back-off not honoured", gap)
	}
	out := p.mustRun("describe", "pod", "-n", "dltplay", "dltplay-live")
	if !strings.Contains(out, "Unhealthy") || !strings.Contains(out, "Restart Count:") {
		t.Fatalf("describe:\n%s", out)
	}
}

// TestPlayPrivateImageWithPullSecret: the image is only pullable with the
// pull secret that comes in the same YAML.
func TestPlayPrivateImageWithPullSecret(t *testing.T) {
	p := newPlayer(t)
	reg := testutil.StartRegistry(t, testutil.WithBasicAuth("dltplay", "s3cret"))
	ref := reg.PushBusybox(t, "dltplay/private:v1", testutil.ImageOptions{Marker: "dltplay-private"})
	t.Cleanup(func() { removeImage(p, ref) })
	removeImage(p, ref)
	host := testutil.TrimHost(reg.Host)
	secret := fmt.Sprintf(`{"auths":{"%s":{"username":"dltplay","password":"s3cret"}}}`, host)
	file := p.manifest("private.yaml", `apiVersion: v1
kind: Secret
metadata: {name: regcred, namespace: dltplay}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '`+secret+`'
---
apiVersion: v1
kind: Pod
metadata: {name: dltplay-private, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 1
  imagePullSecrets: [{name: regcred}]
  containers:
  - {name: main, image: "`+ref+`", command: `+idleCmd("")+`}
`)
	noSecret := p.manifest("nosecret.yaml", `apiVersion: v1
kind: Pod
metadata: {name: dltplay-nosecret, namespace: dltplay}
spec:
  containers:
  - {name: main, image: "`+ref+`", imagePullPolicy: Always}
`)
	p.mustRun("play", "-d", noSecret)
	st := p.waitPod("dltplay-nosecret", 60*time.Second, "a pull error", func(s pod.PodStatus) bool {
		r := s.Containers[0].Reason
		return r == "ErrImagePull" || r == "ImagePullBackOff"
	})
	if st.Containers[0].State != pod.StateWaiting {
		t.Fatalf("anonymous pull: %+v", st.Containers[0])
	}
	p.mustRun("down", noSecret)
	p.mustRun("play", "--wait", "--timeout", "90s", file)
	st = p.pods()["dltplay-private"]
	if st.Containers[0].State != pod.StateRunning {
		t.Fatalf("with the secret: %+v", st.Containers[0])
	}
}

func removeImage(p *player, ref string) {
	_, _ = p.eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
}

// TestPlayHostPortAfterRestart: the host port reaches the container on
// 127.0.0.1 before and after the container restarts.
func TestPlayHostPortAfterRestart(t *testing.T) {
	p := newPlayer(t)
	port := freePort(t)
	file := p.manifest("web.yaml", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: dltplay-web, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: %s
    command: [sh, -c, "mkdir -p /www; echo attempt-$(cat /www-count 2>/dev/null) > /www/index.html; httpd -p 8080 -h /www; sleep 6; exit 1"]
    ports: [{containerPort: 8080, hostPort: %d}]
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
`, busyboxImage, port))
	p.mustRun("play", "--wait", "--timeout", "60s", file)
	get := func() (string, error) {
		c := &http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get(); err != nil || !strings.Contains(body, "attempt") {
		t.Fatalf("before restart: %q %v", body, err)
	}
	p.waitPod("dltplay-web", 90*time.Second, "a restart, ready again", func(s pod.PodStatus) bool {
		return s.Containers[0].RestartCount >= 1 && s.Ready
	})
	var body string
	var err error
	for i := 0; i < 10; i++ {
		if body, err = get(); err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil || !strings.Contains(body, "attempt") {
		t.Fatalf("after restart: %q %v", body, err)
	}
}
