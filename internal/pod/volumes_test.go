package pod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Volume names and item paths become paths on the host: the manifest is
// refused when one would leave the pod's directory, as the API server
// refuses it.
func TestParseRefusesVolumePathsOutOfThePod(t *testing.T) {
	pod := func(volume string) string {
		return `
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {k: v}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: busybox}]
  volumes:
` + volume
	}
	for name, doc := range map[string]string{
		"name with ..":        pod("  - {name: ../../../../tmp/x, configMap: {name: cm}}"),
		"name with a slash":   pod("  - {name: a/b, emptyDir: {}}"),
		"name .. alone":       pod("  - {name: .., emptyDir: {}}"),
		"upper-case name":     pod("  - {name: Data, emptyDir: {}}"),
		"item path ..":        pod("  - {name: v, configMap: {name: cm, items: [{key: k, path: ../x}]}}"),
		"item path inner ..":  pod("  - {name: v, configMap: {name: cm, items: [{key: k, path: a/../../x}]}}"),
		"item path absolute":  pod("  - {name: v, secret: {secretName: s, items: [{key: k, path: /etc/x}]}}"),
		"item path ..prefix":  pod("  - {name: v, configMap: {name: cm, items: [{key: k, path: ..data}]}}"),
		"item key with slash": pod("  - {name: v, configMap: {name: cm, items: [{key: a/b, path: x}]}}"),
		"mode above 0777":     pod("  - {name: v, configMap: {name: cm, defaultMode: 4095}}"),
		"secret key ..": `
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {"../../x": v}
`,
		"configMap key with slash": `
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {"a/b": v}
`,
	} {
		if _, err := Parse("x.yaml", strings.NewReader(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := pod("  - {name: v-1, configMap: {name: cm, items: [{key: k, path: sub/dir/file}]}}")
	if _, err := Parse("x.yaml", strings.NewReader(ok)); err != nil {
		t.Errorf("a valid volume: %v", err)
	}
}

// PrepareVolumes itself never writes, chmods or removes outside the pod's
// volumes directory, whatever the pod says (it may come from a state file,
// not from Parse).
func TestPrepareVolumesStaysInThePodDir(t *testing.T) {
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.Mkdir(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(victim, "keep"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	podDir := filepath.Join(base, "state", "pods", "uid")
	if err := os.MkdirAll(filepath.Dir(podDir), 0o700); err != nil {
		t.Fatal(err)
	}
	m := newManifest("x")
	m.ConfigMaps[key("default", "cm")] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	for _, v := range []corev1.Volume{
		{Name: "../../../../victim", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
		{Name: "../../../../victim", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cm"},
			Items:                []corev1.KeyToPath{{Key: "k", Path: "../../../../victim/k"}},
		}}},
	} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{v}}}
		if _, err := PrepareVolumes(p, podDir, filepath.Join(podDir, "claims"), m); err == nil {
			t.Errorf("volume %q (items %v): prepared", v.Name, v.VolumeSource.ConfigMap)
		}
	}
	st, err := os.Stat(victim)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("the directory outside changed: %v %v", st.Mode(), err)
	}
	entries, _ := os.ReadDir(victim)
	if len(entries) != 1 || entries[0].Name() != "keep" {
		t.Errorf("the directory outside holds %v", entries)
	}
}

// Secret volumes: files with the pod's defaultMode (0644 when unset, as
// Kubernetes), in directories that only root may enter — the pod's
// directory, its volumes and logs 0750, pods/ 0700 — made so, or tightened
// when they were left more open.
func TestVolumesArePrivate(t *testing.T) {
	base := t.TempDir()
	podDir := filepath.Join(base, "pods", "uid")
	// Left open by an earlier version.
	for _, d := range []string{VolumesDir(podDir), LogDir(podDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Chmod(podDir, 0o755)
	_ = os.Chmod(filepath.Dir(podDir), 0o755)
	m := newManifest("x")
	m.Secrets[key("default", "s")] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"}, Data: map[string][]byte{"password": []byte("hunter2"), "token": []byte("t")}}
	mode := int32(0o400)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "default-mode", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
		{Name: "own-mode", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: &mode}}},
	}}}
	if _, err := PrepareVolumes(p, podDir, filepath.Join(podDir, "claims"), m); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]os.FileMode{
		filepath.Dir(podDir): 0o700, podDir: 0o750, VolumesDir(podDir): 0o750, LogDir(podDir): 0o750,
	} {
		if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, want %v (%v)", dir, st.Mode().Perm(), want, err)
		}
	}
	for file, want := range map[string]os.FileMode{
		"default-mode/password": 0o644, "own-mode/password": 0o400, "own-mode/token": 0o400,
	} {
		st, err := os.Stat(filepath.Join(VolumesDir(podDir), file))
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, want %v (%v)", file, st.Mode().Perm(), want, err)
		}
	}
	// A changed defaultMode reaches files whose content did not change.
	mode = 0o440
	if _, err := PrepareVolumes(p, podDir, filepath.Join(podDir, "claims"), m); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(VolumesDir(podDir), "own-mode/password")); st.Mode().Perm() != 0o440 {
		t.Errorf("mode after a change of defaultMode: %v", st.Mode().Perm())
	}
}

// The state directory holds the applied Secrets: it is made 0700, an
// existing one is tightened, and a shared sticky directory is refused.
func TestStorePrepareTightens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (Store{Dir: dir}).Prepare(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", st.Mode().Perm())
	}
	sticky := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(sticky, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := (Store{Dir: sticky}).Prepare(); err == nil {
		t.Error("a sticky shared directory was taken as the state directory")
	}
	if st, _ := os.Stat(sticky); st.Mode().Perm() != 0o777 {
		t.Errorf("the shared directory was changed: %v", st.Mode())
	}
}
