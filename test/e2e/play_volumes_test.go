package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlayClaimsOutliveDown: what a pod writes to a PersistentVolumeClaim
// (declared, or a StatefulSet's volumeClaimTemplate) is there after down
// and the next play; down --volumes removes it. downwardAPI and projected
// volumes show the pod's metadata and the selected keys.
func TestPlayClaimsOutliveDown(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("claims.yaml", `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: dltplay-data, namespace: dltplay}
spec:
  accessModes: [ReadWriteOnce]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dltplay-cfg, namespace: dltplay}
data: {mode: fast, unused: x}
---
apiVersion: v1
kind: Secret
metadata: {name: dltplay-sec, namespace: dltplay}
stringData: {token: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: dltplay-writer, namespace: dltplay, labels: {app: writer}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: `+busyboxImage+`
    command: [sh, -c, "echo x >> /data/log; wc -l < /data/log > /data/count; trap 'exit 0' TERM; while :; do sleep 1; done"]
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: info, mountPath: /info}
    - {name: all, mountPath: /all}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: dltplay-data}}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
  - name: all
    projected:
      sources:
      - configMap: {name: dltplay-cfg, items: [{key: mode, path: conf/mode}]}
      - secret: {name: dltplay-sec}
      - secret: {name: dltplay-absent, optional: true}
      - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: dltplay-db, namespace: dltplay}
spec:
  replicas: 2
  serviceName: dltplay-db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: `+busyboxImage+`
        command: [sh, -c, "hostname >> /var/lib/db/owners; trap 'exit 0' TERM; while :; do sleep 1; done"]
        volumeMounts: [{name: store, mountPath: /var/lib/db}]
  volumeClaimTemplates:
  - metadata: {name: store}
    spec: {accessModes: [ReadWriteOnce]}
`)
	p.mustRun("play", "--wait", "--timeout", "3m", file)
	exec := func(pod string, cmd ...string) string {
		return p.mustRun(append([]string{"exec", "-n", "dltplay", pod, "--"}, cmd...)...)
	}
	if got := exec("dltplay-writer", "cat", "/info/labels", "/all/conf/mode", "/all/token", "/all/name"); got != "app=\"writer\"\nfast"+"s3cret"+"dltplay-writer" {
		t.Fatalf("downwardAPI and projected files: %q", got)
	}
	if out := exec("dltplay-writer", "ls", "/all"); strings.Contains(out, "unused") {
		t.Fatalf("projected volume holds a key its items did not select: %q", out)
	}
	p.mustRun("down", file)
	claim := filepath.Join(p.state, "claims", "dltplay", "dltplay-data", "count")
	if b, err := os.ReadFile(claim); err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Fatalf("claim after down: %q %v", b, err)
	}
	for _, ord := range []string{"0", "1"} {
		b, err := os.ReadFile(filepath.Join(p.state, "claims", "dltplay", "store-dltplay-db-"+ord, "owners"))
		if err != nil || strings.TrimSpace(string(b)) != "dltplay-db-"+ord {
			t.Fatalf("ordinal %s's own claim: %q %v", ord, b, err)
		}
	}

	p.mustRun("play", "--wait", "--timeout", "3m", file)
	if got := exec("dltplay-writer", "cat", "/data/count"); strings.TrimSpace(got) != "2" {
		t.Fatalf("the second play's pod did not find the first's data: %q", got)
	}
	p.mustRun("down", "--volumes", file)
	if _, err := os.Stat(filepath.Dir(claim)); !os.IsNotExist(err) {
		t.Fatalf("down --volumes left the claim (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(p.state, "claims", "dltplay", "store-dltplay-db-0")); !os.IsNotExist(err) {
		t.Fatalf("down --volumes left a StatefulSet claim (%v)", err)
	}
}
