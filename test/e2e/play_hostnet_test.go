package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPlayHostNetwork: a host-network pod serves on the host's own port,
// and its httpGet readiness probe goes to 127.0.0.1.
func TestPlayHostNetwork(t *testing.T) {
	p := newPlayer(t)
	port := freePort(t)
	file := p.manifest("hostnet.yaml", fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: page, namespace: dltplay}
data: {index.html: "host-network page\n"}
---
apiVersion: v1
kind: Pod
metadata: {name: dltplay-hostnet, namespace: dltplay}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: %s
    command: [httpd, -f, -p, "127.0.0.1:%d", -h, /www]
    readinessProbe:
      httpGet: {path: /index.html, port: %d}
      periodSeconds: 1
    volumeMounts: [{name: page, mountPath: /www}]
  volumes:
  - {name: page, configMap: {name: page}}
`, busyboxImage, port, port))
	p.mustRun("play", "--wait", "--timeout", "60s", file)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "host-network page") {
		t.Fatalf("page: %q", body)
	}
	if st := p.pods()["dltplay-hostnet"]; st.PodIP != "127.0.0.1" {
		t.Fatalf("pod IP %q", st.PodIP)
	}
}
