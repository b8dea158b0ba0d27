package pod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// A symlink a container planted in a writable volume never makes a
// subPath mount bind (or create) something outside the volume.
func TestSubPathStaysInsideVolume(t *testing.T) {
	base := t.TempDir()
	vol := filepath.Join(base, "vol")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{vol, outside, filepath.Join(vol, "real")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"abs":    outside,          // absolute, out
		"rel":    "../outside",     // relative, out
		"inner":  "real",           // stays inside
		"rooted": "/real",          // absolute, read as inside the volume
		"deep":   "../../../../..", // climbs past /
	} {
		if err := os.Symlink(target, filepath.Join(vol, name)); err != nil {
			t.Fatal(err)
		}
	}
	vols := map[string]Volume{"data": {HostPath: vol}}
	// Through a symlink that leads nowhere inside the volume nothing is
	// made: an error.
	for _, sub := range []string{"abs", "rel/new"} {
		c := &corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/mnt", SubPath: sub}}}
		if ms, err := mounts(c, vols); err == nil {
			t.Errorf("subPath %s: mounted %s", sub, ms[0].HostPath)
		}
	}
	for sub, want := range map[string]string{
		"inner/x":   filepath.Join(vol, "real", "x"),
		"rooted":    filepath.Join(vol, "real"),
		"deep/etc":  filepath.Join(vol, "etc"),
		"plain/dir": filepath.Join(vol, "plain", "dir"),
	} {
		c := &corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/mnt", SubPath: sub}}}
		ms, err := mounts(c, vols)
		if err != nil {
			t.Errorf("%s: %v", sub, err)
			continue
		}
		got := ms[0].HostPath
		if got != want {
			t.Errorf("subPath %s: host path %s, want %s", sub, got, want)
		}
		if !strings.HasPrefix(got, vol+string(filepath.Separator)) {
			t.Errorf("subPath %s: host path %s is outside the volume", sub, got)
		}
		if fi, err := os.Lstat(got); err != nil || !fi.IsDir() {
			t.Errorf("subPath %s: %s not made as a directory: %v", sub, got, err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("made outside the volume: %v", entries)
	}
	// A read-only volume's missing sub path is not made.
	ro := map[string]Volume{"data": {HostPath: vol, ReadOnly: true}}
	c := &corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/mnt", SubPath: "abs/ro"}}}
	if ms, err := mounts(c, ro); err != nil || !strings.HasPrefix(ms[0].HostPath, vol+"/") {
		t.Errorf("read-only: %v %v", ms, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "ro")); err == nil {
		t.Error("read-only sub path made outside")
	}
}
