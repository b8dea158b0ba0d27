package e2e

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
)

// TestPlayCombinedApp plays one file as an application is usually written:
// a Deployment of two web replicas behind a Service, a ConfigMap and a
// Secret they use, a PersistentVolumeClaim, a client pod, a Job whose
// first attempt fails (its mark is on the claim) and an Ingress, a kind
// play does not run. play --wait succeeds once the Job succeeded on its
// retry; the client reaches the Service by name and a replica answers;
// the Ingress is skipped with one warning; down takes under 10 s (the
// containers exit on SIGTERM); what was written to the claim is there for
// the next play.
func TestPlayCombinedApp(t *testing.T) {
	p := newPlayer(t)
	const serve = `mkdir -p /www; echo $(hostname) $GREETING > /www/index.html; trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait`
	const client = `echo x >> /data/log; trap 'exit 0' TERM; while :; do sleep 1; done`
	const job = `if [ -f /data/job-tried ]; then echo done > /data/job-done; exit 0; fi; touch /data/job-tried; exit 1`
	file := p.manifest("app.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: dlpj-cfg, namespace: dlpj}
data: {greeting: hello-from-config}
---
apiVersion: v1
kind: Secret
metadata: {name: dlpj-sec, namespace: dlpj}
stringData: {token: s3cret}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: dlpj-data, namespace: dlpj}
spec: {accessModes: [ReadWriteOnce]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: dlpj}
spec:
  selector: {app: web}
  ports: [{port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dlpj-web, namespace: dlpj}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: `+busyboxImage+`
        command: [sh, -c, "`+serve+`"]
        env:
        - name: GREETING
          valueFrom: {configMapKeyRef: {name: dlpj-cfg, key: greeting}}
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1, timeoutSeconds: 10}
---
apiVersion: v1
kind: Pod
metadata: {name: dlpj-client, namespace: dlpj}
spec:
  containers:
  - name: main
    image: `+busyboxImage+`
    command: [sh, -c, "`+client+`"]
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: sec, mountPath: /sec, readOnly: true}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: dlpj-data}}
  - {name: sec, secret: {secretName: dlpj-sec}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: dlpj-setup, namespace: dlpj}
spec:
  backoffLimit: 3
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: `+busyboxImage+`
        command: [sh, -c, "`+job+`"]
        volumeMounts: [{name: data, mountPath: /data}]
      volumes:
      - {name: data, persistentVolumeClaim: {claimName: dlpj-data}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: dlpj-web, namespace: dlpj}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}
`)
	out := p.mustRun("play", "--wait", "--timeout", "3m", file)
	if n := strings.Count(out, "warning:"); n != 1 || !strings.Contains(out, `kind "Ingress" is not run by dockerlet play: skipped`) {
		t.Fatalf("want exactly one warning, for the Ingress (%d):\n%s", n, out)
	}
	j := p.jobs()["dlpj-setup"]
	if c, _ := jobCondition(j); c != batchv1.JobComplete || j.Status.Failed != 1 || j.Status.Succeeded != 1 {
		t.Fatalf("the Job did not succeed on its retry: %+v", j.Status)
	}
	exec := func(cmd string) string {
		out, _ := p.run("", "exec", "-n", "dlpj", "dlpj-client", "--", "sh", "-c", cmd)
		return strings.TrimSpace(out)
	}
	// The hosts file follows readiness on the supervisor's reload.
	get := func() string { return p.httpGet("dlpj", "dlpj-client", "web", 8080) }
	waitUntil(t, 30*time.Second, "a replica to answer on the Service's name", func() bool {
		return strings.HasPrefix(get(), "dlpj-web-")
	})
	if got := get(); !strings.HasSuffix(got, " hello-from-config") {
		t.Fatalf("the replica's answer: %q", got)
	}
	if got := exec("cat /sec/token /data/job-done"); got != "s3cretdone" {
		t.Fatalf("secret and the Job's output on the claim: %q", got)
	}

	start := time.Now()
	p.mustRun("down", file)
	took := time.Since(start)
	t.Logf("down of the set took %s", took.Round(time.Millisecond))
	if took >= 10*time.Second {
		t.Fatalf("down took %s, want under 10 s", took)
	}

	p.mustRun("play", "--wait", "--timeout", "3m", file)
	if got := exec("wc -l < /data/log"); got != "2" {
		t.Fatalf("the second play's client did not find the first's data: %q lines", got)
	}
}
