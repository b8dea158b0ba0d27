package pod

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

const multiDoc = `
# a comment-only document first
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths":{"127.0.0.1:5555":{"username":"u","password":"p"}}}'
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ns1}
data: {greeting: hello}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  nodeSelector: {disk: ssd}
  containers:
  - name: c
    image: busybox
    stdin: true
    resources:
      limits: {cpu: 500m}
    livenessProbe:
      exec: {command: ["true"]}
      terminationGracePeriodSeconds: 5
status:
  phase: Running
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  strategy: {type: Recreate}
  minReadySeconds: 5
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: c, image: busybox}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  backoffLimit: 2
  podReplacementPolicy: Failed
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
`

func TestParseMultiDocument(t *testing.T) {
	m, err := Parse("m.yaml", strings.NewReader(multiDoc))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m.Pods {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	if got, want := strings.Join(names, ","), "default/web"; got != want {
		t.Errorf("pods = %s, want %s", got, want)
	}
	if s, ok := m.Secret("default", "creds"); !ok || string(s.Data[corev1.DockerConfigJsonKey]) == "" {
		t.Errorf("secret creds: stringData not merged into data: %v", s)
	}
	if _, ok := m.ConfigMap("ns1", "cfg"); !ok {
		t.Error("configMap ns1/cfg missing")
	}
	// A Deployment's pods are the Deployment controller's to make.
	if len(m.Deployments) != 1 || m.Deployments[0].Name != "api" || m.Deployments[0].Spec.Strategy.Type != "Recreate" {
		t.Errorf("deployments: %+v", m.Deployments)
	}
	// A Job's pods are the Job controller's to make.
	if len(m.Jobs) != 1 || m.Jobs[0].Name != "once" || *m.Jobs[0].Spec.BackoffLimit != 2 || m.Jobs[0].Namespace != "default" {
		t.Errorf("jobs: %+v", m.Jobs)
	}
	var warned []string
	for _, w := range m.Warnings {
		warned = append(warned, w.Object+":"+w.Path)
	}
	want := []string{
		"Pod web:spec.containers[0].livenessProbe.terminationGracePeriodSeconds",
		"Pod web:spec.nodeSelector",
		"Pod web:status",
		"Deployment api:spec.minReadySeconds",
		"Job once:spec.podReplacementPolicy",
	}
	if strings.Join(warned, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warned, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasPrefix(m.Warnings[0].String(), "m.yaml#4: Pod web: spec.containers[0]") {
		t.Errorf("warning text: %s", m.Warnings[0])
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: i, imagee: x}]\n", `unknown field "spec.containers[0].imagee"`},
		{"duplicate field", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nmetadata: {name: b}\nspec: {containers: [{name: c, image: i}]}\n", "already set"},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "no kind"},
		{"bad apiVersion", "apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: a}\n", `want "apps/v1"`},
		{"no name", "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c, image: i}]}\n", "metadata.name is required"},
		{"no containers", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {}\n", "at least one container"},
		{"no image", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n", "image is required"},
		{"dup container", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: i}, {name: c, image: i}]}\n", "duplicate container name"},
		{"missing volume", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: i, volumeMounts: [{name: v, mountPath: /v}]}]}\n", `no volume named "v"`},
		{"bad name", "apiVersion: v1\nkind: Pod\nmetadata: {name: A_b}\nspec: {containers: [{name: c, image: i}]}\n", "metadata.name"},
		{"dup pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: i}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: i}]}\n", "defined twice"},
		{"job restart", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {spec: {containers: [{name: c, image: i}]}}}\n", "must be Never or OnFailure"},
		{"job completions", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {completions: -1, template: {spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}}\n", "spec.completions: must be greater than or equal to 0"},
		{"job deadline", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {activeDeadlineSeconds: 0, template: {spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}}\n", "spec.activeDeadlineSeconds: must be greater than 0"},
		{"job name", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: a.b}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}}\n", "metadata.name"},
		{"bad yaml", "apiVersion: v1\nkind: [\n", "x.yaml#1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadDirAndList(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c, image: i}]}\n")
	write("a.json", `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"i"}]}}]}`)
	write("notes.txt", "not yaml")
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pods) != 2 || m.Pods[0].Name != "a" || m.Pods[1].Name != "b" {
		t.Fatalf("pods: %v", m.Pods)
	}
	if m.Source != dir {
		t.Errorf("source = %q", m.Source)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), nil); err == nil {
		t.Error("missing file: no error")
	}
	m, err = Load("-", strings.NewReader("apiVersion: v1\nkind: Pod\nmetadata: {name: s}\nspec: {containers: [{name: c, image: i}]}\n"))
	if err != nil || len(m.Pods) != 1 || m.Source != "-" {
		t.Fatalf("stdin: %v %v", m, err)
	}
}

// TestEmptyDirFields: medium Memory and its sizeLimit are honoured (a
// tmpfs); a disk emptyDir's sizeLimit is warned; another medium is an error.
func TestEmptyDirFields(t *testing.T) {
	doc := "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  volumes: [{name: v, emptyDir: {medium: Memory, sizeLimit: 1Mi}}, {name: w, emptyDir: {sizeLimit: 1Gi}}, {name: x, emptyDir: {}}]\n  containers: [{name: c, image: i}]\n"
	m, err := Parse("x", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Warnings) != 1 || m.Warnings[0].Path != "spec.volumes[1].emptyDir.sizeLimit" {
		t.Fatalf("warnings = %v", m.Warnings)
	}
	bad := strings.Replace(doc, "medium: Memory", "medium: HugePages", 1)
	if _, err := Parse("x", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "emptyDir.medium") {
		t.Fatalf("medium HugePages: %v", err)
	}
}

// TestParseSkipsWhatPlayCannotRun: a kind play does not run is one
// warning, and the rest of the file runs; DaemonSet and StatefulSet give
// their pods.
func TestParseSkipsWhatPlayCannotRun(t *testing.T) {
	m, err := Parse("app.yaml", strings.NewReader(`apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: 1}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {anything: [1, 2]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: i, volumeMounts: [{name: data, mountPath: /d}]}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Pods[1:] {
		want := fmt.Sprintf("data-db-%d", i)
		if v := p.Spec.Volumes; len(v) != 1 || v[0].PersistentVolumeClaim == nil || v[0].PersistentVolumeClaim.ClaimName != want || !m.Claims["default/"+want] {
			t.Errorf("pod %s: volumes %+v, claims %v", p.Name, v, m.Claims)
		}
		// As the StatefulSet controller sets them: web-0.web resolves.
		if p.Spec.Hostname != p.Name || p.Spec.Subdomain != "db" {
			t.Errorf("pod %s: hostname %q subdomain %q", p.Name, p.Spec.Hostname, p.Spec.Subdomain)
		}
	}
	var names []string
	for _, p := range m.Pods {
		names = append(names, p.Name+"="+p.Annotations[naming.PlayAnnotationOwner])
	}
	if got := strings.Join(names, " "); got != "agent-0=DaemonSet/agent db-0=StatefulSet/db db-1=StatefulSet/db" {
		t.Fatalf("pods: %s", got)
	}
	var skipped []string
	for _, w := range m.Warnings {
		if w.Path == "kind" {
			skipped = append(skipped, w.Object)
		}
	}
	if got := strings.Join(skipped, ", "); got != "PodDisruptionBudget web, Widget w" {
		t.Fatalf("skipped kinds: %q (warnings %v)", got, m.Warnings)
	}
}
