package pod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

const translateDoc = `
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello, "app.conf": "x=1"}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {password: s3cret, token: t}
---
apiVersion: v1
kind: Pod
metadata: {name: web, uid: "", labels: {app: web}}
spec:
  hostname: box
  terminationGracePeriodSeconds: 7
  securityContext: {runAsUser: 1000, supplementalGroups: [5], sysctls: [{name: net.core.somaxconn, value: "1024"}]}
  dnsConfig: {nameservers: [1.1.1.1], options: [{name: ndots, value: "2"}]}
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: conf, configMap: {name: cfg, items: [{key: app.conf, path: sub/app.conf, mode: 0600}]}}
  - {name: sec, secret: {secretName: sec}}
  - {name: opt, secret: {secretName: nope, optional: true}}
  containers:
  - name: app
    image: example.com/app:1.0
    command: [sh, -c, "echo $(GREETING) $$(HOME)"]
    envFrom:
    - configMapRef: {name: cfg}
      prefix: CM_
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: sec, key: password}}}
    - {name: MISSING, valueFrom: {secretKeyRef: {name: sec, key: nope, optional: true}}}
    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: COMBINED, value: "$(POD).$(NS)"}
    ports:
    - {containerPort: 80, hostPort: 8080}
    - {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 127.0.0.1}
    - {containerPort: 9090}
    resources:
      limits: {cpu: 250m, memory: 64Mi}
    securityContext:
      runAsGroup: 2000
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {add: [NET_ADMIN], drop: [ALL]}
    volumeMounts:
    - {name: scratch, mountPath: /scratch}
    - {name: conf, mountPath: /etc/app, readOnly: false}
    - {name: sec, mountPath: /run/secret}
    - {name: scratch, mountPath: /data, subPath: d}
`

func TestTranslate(t *testing.T) {
	m, err := Parse("t.yaml", strings.NewReader(translateDoc))
	if err != nil {
		t.Fatal(err)
	}
	p := m.Pods[0]
	p.UID = "uid-1"
	podDir := t.TempDir()
	sb, err := SandboxConfig(p, podDir, "src", 2)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Metadata.Name != "web" || sb.Metadata.Namespace != "default" || sb.Metadata.Uid != "uid-1" || sb.Metadata.Attempt != 2 {
		t.Errorf("sandbox metadata: %v", sb.Metadata)
	}
	if sb.Hostname != "box" || sb.LogDirectory != filepath.Join(podDir, "logs") {
		t.Errorf("hostname %q logdir %q", sb.Hostname, sb.LogDirectory)
	}
	if sb.Labels[naming.PlayLabelSource] != "src" || sb.Labels["app"] != "web" || sb.Labels[naming.KubeletLabelPodUID] != "uid-1" {
		t.Errorf("labels: %v", sb.Labels)
	}
	if len(sb.PortMappings) != 2 || sb.PortMappings[0].HostPort != 8080 || sb.PortMappings[1].Protocol != runtimeapi.Protocol_UDP || sb.PortMappings[1].HostIp != "127.0.0.1" {
		t.Errorf("port mappings: %v", sb.PortMappings)
	}
	if sb.DnsConfig.Servers[0] != "1.1.1.1" || sb.DnsConfig.Options[0] != "ndots:2" {
		t.Errorf("dns: %v", sb.DnsConfig)
	}
	if sb.Linux.Sysctls["net.core.somaxconn"] != "1024" || sb.Linux.SecurityContext.RunAsUser.Value != 1000 {
		t.Errorf("linux: %v", sb.Linux)
	}

	vols, err := PrepareVolumes(p, podDir, filepath.Join(podDir, "claims"), m)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(vols["conf"].HostPath, "sub/app.conf")); err != nil || string(b) != "x=1" {
		t.Errorf("configMap item: %q %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(vols["conf"].HostPath, "sub/app.conf")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("configMap item mode: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(vols["conf"].HostPath, "greeting")); !os.IsNotExist(err) {
		t.Errorf("configMap: unselected key written (%v)", err)
	}
	if b, err := os.ReadFile(filepath.Join(vols["sec"].HostPath, "password")); err != nil || string(b) != "s3cret" {
		t.Errorf("secret file: %q %v", b, err)
	}
	if st, err := os.Stat(vols["scratch"].HostPath); err != nil || st.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir: %v %v", st, err)
	}

	cc, err := ContainerConfig(p, ContainerInput{Container: &p.Spec.Containers[0], Attempt: 3, Image: "sha256:abc", PodIP: "10.1.2.3", Volumes: vols, Objects: m})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	var order []string
	for _, kv := range cc.Envs {
		env[kv.Key] = string(kv.Value)
		order = append(order, kv.Key)
	}
	want := map[string]string{
		"CM_greeting": "hello", "CM_app.conf": "x=1", "GREETING": "hello", "PASSWORD": "s3cret",
		"POD": "web", "NS": "default", "IP": "10.1.2.3", "APP": "web", "COMBINED": "web.default",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["MISSING"]; ok {
		t.Error("optional missing key was set")
	}
	if order[0] != "CM_app.conf" {
		t.Errorf("envFrom must come first: %v", order)
	}
	if got := cc.Command[2]; got != "echo hello $(HOME)" {
		t.Errorf("command expansion: %q", got)
	}
	if cc.Metadata.Attempt != 3 || cc.LogPath != "app/3.log" || cc.Image.Image != "sha256:abc" || cc.Image.UserSpecifiedImage != "example.com/app:1.0" {
		t.Errorf("metadata/log/image: %v %q %v", cc.Metadata, cc.LogPath, cc.Image)
	}
	r := cc.Linux.Resources
	if r.CpuQuota != 25000 || r.CpuPeriod != 100000 || r.CpuShares != 256 || r.MemoryLimitInBytes != 64<<20 {
		t.Errorf("resources: %v", r)
	}
	sc := cc.Linux.SecurityContext
	if sc.RunAsUser.Value != 1000 || sc.RunAsGroup.Value != 2000 || !sc.ReadonlyRootfs || !sc.NoNewPrivs ||
		sc.Capabilities.AddCapabilities[0] != "NET_ADMIN" || sc.Capabilities.DropCapabilities[0] != "ALL" || sc.SupplementalGroups[0] != 5 {
		t.Errorf("security context: %v", sc)
	}
	mounts := map[string]*runtimeapi.Mount{}
	for _, mt := range cc.Mounts {
		mounts[mt.ContainerPath] = mt
	}
	if !mounts["/etc/app"].Readonly || !mounts["/run/secret"].Readonly || mounts["/scratch"].Readonly {
		t.Errorf("mount modes: %v", cc.Mounts)
	}
	if mounts["/data"].HostPath != filepath.Join(vols["scratch"].HostPath, "d") {
		t.Errorf("subPath: %v", mounts["/data"])
	}
}

func TestTranslateErrors(t *testing.T) {
	base := "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n    image: i\n"
	tests := []struct{ name, extra, want string }{
		{"missing configmap", "    env: [{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]\n", `configMap "nope" not found`},
		{"missing secret key", "    env: [{name: X, valueFrom: {secretKeyRef: {name: nope, key: k}}}]\n", `secret "nope" not found`},
		{"bad fieldRef", "    env: [{name: X, valueFrom: {fieldRef: {fieldPath: spec.priority}}}]\n", "not supported"},
		{"gpu limit", "    resources: {limits: {nvidia.com/gpu: 1}}\n", "not supported"},
		{"root", "    securityContext: {runAsNonRoot: true, runAsUser: 0}\n", "runAsNonRoot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("x", strings.NewReader(base+tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			p := m.Pods[0]
			_, err = ContainerConfig(p, ContainerInput{Container: &p.Spec.Containers[0], Objects: m})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPortMappingErrors(t *testing.T) {
	doc := "apiVersion: v1\nkind: Pod\nmetadata: {name: a, uid: u}\nspec:\n  containers:\n  - {name: a, image: i, ports: [{containerPort: 80, hostPort: 8080}]}\n  - {name: b, image: i, ports: [{containerPort: 81, hostPort: 8080}]}\n"
	m, err := Parse("x", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SandboxConfig(m.Pods[0], t.TempDir(), "s", 0); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("err = %v", err)
	}
}

func TestPullPolicy(t *testing.T) {
	for _, tt := range []struct{ image, policy, want string }{
		{"busybox", "", "Always"},
		{"busybox:latest", "", "Always"},
		{"busybox:1.36", "", "IfNotPresent"},
		{"localhost:5000/busybox", "", "Always"},
		{"localhost:5000/busybox:v1", "", "IfNotPresent"},
		{"busybox@sha256:abcd", "", "IfNotPresent"},
		{"busybox", "Never", "Never"},
	} {
		c := corev1Container(tt.image, tt.policy)
		if got := string(PullPolicy(c)); got != tt.want {
			t.Errorf("PullPolicy(%s, %q) = %s, want %s", tt.image, tt.policy, got, tt.want)
		}
	}
}

func TestSecretCredentials(t *testing.T) {
	doc := `apiVersion: v1
kind: Secret
metadata: {name: s}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths":{"http://127.0.0.1:5555":{"auth":"dTpw"},"other.io":{"username":"x","password":"y"}}}'
`
	m, err := Parse("x", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.Secret("default", "s")
	auths, err := SecretCredentials{}.Lookup("127.0.0.1:5555/private/app:1", []*corev1Secret{s})
	if err != nil || len(auths) != 1 || auths[0].Username != "u" || auths[0].Password != "p" {
		t.Fatalf("auths = %v, %v", auths, err)
	}
	if auths, _ := (SecretCredentials{}).Lookup("127.0.0.1:6666/app", []*corev1Secret{s}); len(auths) != 0 {
		t.Errorf("port must match: %v", auths)
	}
}

// TestVolumeFilesUpdatedInPlace: preparing a configMap volume again (a
// supervisor restart) keeps the directory a container has mounted, and
// updates its files there.
func TestVolumeFilesUpdatedInPlace(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	dir := filepath.Join(root.Name(), "v")
	if err := writeFiles(root, "v", map[string][]byte{"a": []byte("1"), "b": []byte("2"), "sub/c": []byte("3")}, nil, nil, false); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(root, "v", map[string][]byte{"a": []byte("1"), "b": []byte("two")}, nil, nil, false); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("the volume directory was replaced: a running container would see an empty mount")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b")); string(b) != "two" {
		t.Errorf("b = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("stale sub/ kept (%v)", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("entries: %v", entries)
	}
}
