package pod

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClaimDownwardProjected: a claim is a directory outside the pod's
// (it outlives the pod), downwardAPI and projected volumes hold what their
// items select.
func TestClaimDownwardProjected(t *testing.T) {
	state := t.TempDir()
	podDir := PodDir(state, "uid1")
	m := newManifest("x")
	m.ConfigMaps[key("ns", "cm")] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"a": "A", "b": "B"}}
	m.Secrets[key("ns", "s")] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Data: map[string][]byte{"pw": []byte("hunter2")}}
	mode := int32(0o600)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid1", Labels: map[string]string{"app": "web", "tier": "front"}},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "db-data"}}},
			{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
				{Path: "meta/labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}, Mode: &mode},
			}}}},
			{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Items: []corev1.KeyToPath{{Key: "b", Path: "conf/b"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: new(true)}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
			}}}},
		}}}
	vols, err := PrepareVolumes(p, podDir, ClaimsDir(state), m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := vols["data"].HostPath, filepath.Join(state, "claims", "ns", "db-data"); got != want || vols["data"].ReadOnly {
		t.Fatalf("claim volume %+v, want %s", vols["data"], want)
	}
	for file, want := range map[string]string{
		"info/name": "web", "info/meta/labels": "app=\"web\"\ntier=\"front\"\n",
		"all/conf/b": "B", "all/pw": "hunter2", "all/ns": "ns",
	} {
		b, err := os.ReadFile(filepath.Join(VolumesDir(podDir), file))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q (%v), want %q", file, b, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(VolumesDir(podDir), "info/meta/labels")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("item mode: %v %v", st.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(VolumesDir(podDir), "all/a")); !os.IsNotExist(err) {
		t.Errorf("a key the items did not select was written (%v)", err)
	}
	// The claim survives the pod's directory; RemoveClaims removes it.
	if err := os.WriteFile(filepath.Join(vols["data"].HostPath, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := removePodDir(podDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(vols["data"].HostPath, "f")); err != nil {
		t.Fatalf("claim data gone with the pod: %v", err)
	}
	if err := RemoveClaims(state, []string{"ns/db-data", "../escape"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(vols["data"].HostPath); !os.IsNotExist(err) {
		t.Fatalf("claim left after RemoveClaims (%v)", err)
	}
	// A missing non-optional source is an error.
	p.Spec.Volumes[2].Projected.Sources[2].Secret.Optional = nil
	if _, err := PrepareVolumes(p, podDir, ClaimsDir(state), m); err == nil {
		t.Fatal("missing secret in a projected volume: no error")
	}
}
