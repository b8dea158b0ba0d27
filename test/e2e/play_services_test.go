package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestPlayServiceNames: a pod reaches a Service by name, name.namespace
// and its cluster name, answered by a ready replica; when that replica
// stops being ready the name fails over to the other; a headless
// Service's StatefulSet pods resolve as <pod>.<service>.
func TestPlayServiceNames(t *testing.T) {
	p := newPlayer(t)
	const serve = `mkdir -p /www; hostname > /www/index.html; touch /tmp/ready; trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait`
	file := p.manifest("svc.yaml", `apiVersion: v1
kind: Service
metadata: {name: web, namespace: dltplay}
spec:
  selector: {app: web}
  ports: [{port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dltplay-web, namespace: dltplay}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: `+busyboxImage+`
        command: [sh, -c, "`+serve+`"]
        readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1, timeoutSeconds: 10}
---
apiVersion: v1
kind: Service
metadata: {name: dltplay-db, namespace: dltplay}
spec:
  clusterIP: None
  selector: {app: db}
---
`+statefulSet("dltplay-db", "db", `[sh, -c, "`+serve+`"]`)+`---
`+idlePod("dltplay-client", ""))
	p.mustRun("play", "--wait", "--timeout", "150s", file)
	get := func(host string) string { return p.httpGet("dltplay", "dltplay-client", host, 8080) }
	// The hosts file is rewritten on the supervisor's reload: give the
	// first one a few seconds.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.HasPrefix(get("web"), "dltplay-web-") && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	for _, name := range []string{"web", "web.dltplay", "web.dltplay.svc.cluster.local"} {
		if got := get(name); !strings.HasPrefix(got, "dltplay-web-") {
			t.Fatalf("%s: %q", name, got)
		}
	}
	for _, pod := range []string{"dltplay-db-0", "dltplay-db-1"} {
		// Each pod's name is added once it is ready, on a later reload.
		deadline := time.Now().Add(30 * time.Second)
		for get(pod+".dltplay-db") != pod && time.Now().Before(deadline) {
			time.Sleep(time.Second)
		}
		if got := get(pod + ".dltplay-db"); got != pod {
			t.Fatalf("%s.dltplay-db answered %q", pod, got)
		}
	}

	// Fail over: the replica that answers stops being ready, the other
	// answers.
	first := get("web")
	p.mustRun("exec", "-n", "dltplay", first, "--", "rm", "/tmp/ready")
	other := ""
	for name := range p.pods() {
		if strings.HasPrefix(name, "dltplay-web-") && name != first {
			other = name
		}
	}
	deadline = time.Now().Add(45 * time.Second)
	for {
		got := get("web")
		if got == other {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web still answered by %q after %s stopped being ready", got, first)
		}
		time.Sleep(time.Second)
	}
}
