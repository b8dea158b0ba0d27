package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestPlayServicePorts: a Service's port reaches its pods' targetPort
// (named: the containerPort called http), from a pod through the name;
// a NodePort Service is published on 127.0.0.1 at its allocated node
// port, kept by a re-play, and a LoadBalancer one at its port too, both
// answered by either replica; down closes them.
func TestPlayServicePorts(t *testing.T) {
	p := newPlayer(t)
	// The port the LoadBalancer publishes on the host: from this test's
	// own range, free now.
	lbPort := 17481
	if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lbPort)); err != nil {
		t.Skipf("127.0.0.1:%d is in use: %v", lbPort, err)
	} else {
		ln.Close()
	}
	const serve = `mkdir -p /www; hostname > /www/index.html; touch /tmp/ready; trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait`
	file := p.manifest("ports.yaml", fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: svcport-web, namespace: dltplay}
spec:
  selector: {app: svcport-web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: svcport-node, namespace: dltplay}
spec:
  type: NodePort
  selector: {app: svcport-web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: svcport-lb, namespace: dltplay}
spec:
  type: LoadBalancer
  selector: {app: svcport-web}
  ports: [{port: %d, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: svcport-web, namespace: dltplay}
spec:
  replicas: 2
  selector: {matchLabels: {app: svcport-web}}
  template:
    metadata: {labels: {app: svcport-web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: `+busyboxImage+`
        command: [sh, -c, "`+serve+`"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1, timeoutSeconds: 10, failureThreshold: 5}
---
`+idlePod("svcport-client", ""), lbPort))
	out := p.mustRun("play", "--wait", "--timeout", "150s", file)
	if strings.Contains(out, "targetPort") || strings.Contains(out, "spec.type") {
		t.Errorf("warned about what is honoured:\n%s", out)
	}

	// From a pod: svcport-web:80 answers from a replica's 8080. The name
	// and the redirect follow the supervisor's reload: a few seconds.
	get := func(host string) string { return p.httpGet("dltplay", "svcport-client", host, 80) }
	deadline := time.Now().Add(60 * time.Second)
	for !strings.HasPrefix(get("svcport-web"), "svcport-web-") && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	if got := get("svcport-web.dltplay.svc.cluster.local"); !strings.HasPrefix(got, "svcport-web-") {
		t.Fatalf("svcport-web:80 from a pod answered %q", got)
	}

	// From the host: the NodePort Service at 127.0.0.1:<nodePort>.
	nodePort := p.nodePort("svcport-node")
	if nodePort < 30000 || nodePort > 32767 {
		t.Fatalf("node port %d outside 30000-32767", nodePort)
	}
	hostGet := func(port int) (string, error) {
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b)), err
	}
	for _, port := range []int{nodePort, lbPort} {
		answered := map[string]bool{}
		deadline := time.Now().Add(60 * time.Second)
		for len(answered) < 2 && time.Now().Before(deadline) {
			got, err := hostGet(port)
			if err == nil && strings.HasPrefix(got, "svcport-web-") {
				answered[got] = true
			} else {
				time.Sleep(500 * time.Millisecond)
			}
		}
		if len(answered) != 2 {
			t.Fatalf("127.0.0.1:%d: answered by %v, want both replicas", port, answered)
		}
	}
	if want := fmt.Sprintf("service/svcport-node published on 127.0.0.1:%d (80/TCP)", nodePort); !strings.Contains(out, want) {
		t.Errorf("play did not say %q:\n%s", want, out)
	}
	svcs := p.mustRun("get", "services", "-n", "dltplay")
	if !strings.Contains(svcs, fmt.Sprintf("80:%d/TCP", nodePort)) || !strings.Contains(svcs, "LoadBalancer") {
		t.Errorf("get services:\n%s", svcs)
	}

	// Fail over: a replica that stops being ready gets no more
	// connections through the node port.
	gone, _ := hostGet(nodePort)
	p.mustRun("exec", "-n", "dltplay", gone, "--", "rm", "/tmp/ready")
	// The probe allows 5 failures: under load that takes a while.
	deadline = time.Now().Add(90 * time.Second)
	for others := 0; others < 4; {
		got, err := hostGet(nodePort)
		switch {
		case err == nil && got != gone && strings.HasPrefix(got, "svcport-web-"):
			others++
		case err == nil && got == gone:
			others = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("127.0.0.1:%d still answered by %s after it stopped being ready (%q, %v)", nodePort, gone, got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.mustRun("exec", "-n", "dltplay", gone, "--", "touch", "/tmp/ready")

	// Played again, unchanged: the same node port.
	p.mustRun("play", "-d", file)
	if again := p.nodePort("svcport-node"); again != nodePort {
		t.Errorf("re-play moved the node port from %d to %d", nodePort, again)
	}

	// down: the published ports are closed.
	p.mustRun("down", file)
	for _, port := range []int{nodePort, lbPort} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err == nil {
				c.Close()
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("127.0.0.1:%d still accepts after down (%v)", port, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// nodePort is the node port `get services NAME -o json` shows for the
// Service's first port.
func (p *player) nodePort(name string) int {
	p.t.Helper()
	var svc corev1.Service
	out := p.mustRun("get", "services", "-n", "dltplay", name, "-o", "json")
	if err := json.Unmarshal([]byte(out), &svc); err != nil || len(svc.Spec.Ports) == 0 {
		p.t.Fatalf("get services %s -o json: %v\n%s", name, err, out)
	}
	return int(svc.Spec.Ports[0].NodePort)
}
