package pod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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
		if ms, err := mounts(c, vols, ""); err == nil {
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
		ms, err := mounts(c, vols, "")
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
	if ms, err := mounts(c, ro, ""); err != nil || !strings.HasPrefix(ms[0].HostPath, vol+"/") {
		t.Errorf("read-only: %v %v", ms, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "ro")); err == nil {
		t.Error("read-only sub path made outside")
	}
}

// A sub path is pinned by a bind mount of what was resolved: replacing
// its directory with a symlink afterwards (a container racing the mount)
// changes nothing that Docker is given. Needs root (mounts).
func TestSubPathPinnedAgainstSwap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pinning a sub path needs root (bind mounts)")
	}
	base := t.TempDir()
	vol, outside, podDir := filepath.Join(base, "vol"), filepath.Join(base, "outside"), filepath.Join(base, "pod")
	for _, d := range []string{filepath.Join(vol, "data"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(vol, "data", "f"), "inside")
	write(filepath.Join(vol, "conf"), "inside-file")
	write(filepath.Join(outside, "f"), "outside")
	write(filepath.Join(outside, "conf"), "outside-file")
	t.Cleanup(func() { _ = unpinSubPaths(SubPathsDir(podDir)) })

	vols := map[string]Volume{"v": {HostPath: vol}}
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{
		{Name: "v", MountPath: "/data", SubPath: "data"},
		{Name: "v", MountPath: "/etc/conf", SubPath: "conf"},
	}}
	ms, err := mounts(c, vols, SubPathsDir(podDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if !strings.HasPrefix(m.HostPath, SubPathsDir(podDir)+"/") {
			t.Fatalf("%s: host path %s is not a pin", m.ContainerPath, m.HostPath)
		}
	}
	// The race: both sub paths become symlinks out of the volume.
	for _, name := range []string{"data", "conf"} {
		if err := os.Rename(filepath.Join(vol, name), filepath.Join(vol, name+"-old")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(outside, name), filepath.Join(vol, name)); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read(filepath.Join(ms[0].HostPath, "f")); got != "inside" {
		t.Errorf("directory pin shows %q after the swap, want the volume's", got)
	}
	if got := read(ms[1].HostPath); got != "inside-file" {
		t.Errorf("file pin shows %q after the swap, want the volume's", got)
	}
	// A new instance of the container re-pins: now through the planted
	// symlink, which resolves inside the volume (to nothing there).
	if _, err := mounts(c, vols, SubPathsDir(podDir)); err == nil {
		t.Error("re-pinned through a symlink that leads out of the volume")
	}

	// Tear-down unpins before it removes: the volume's files survive.
	if err := removePodDir(podDir); err != nil {
		t.Fatal(err)
	}
	if got := read(filepath.Join(vol, "data-old", "f")); got != "inside" {
		t.Errorf("volume content after tear-down: %q", got)
	}
	if _, err := os.Stat(podDir); !os.IsNotExist(err) {
		t.Errorf("pod dir left: %v", err)
	}
}

// removePodDir refuses while anything is still mounted below the pod dir.
func TestRemovePodDirRefusesMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (bind mounts)")
	}
	base := t.TempDir()
	vol, podDir := filepath.Join(base, "vol"), filepath.Join(base, "pod")
	other := filepath.Join(podDir, "volumes", "x")
	for _, d := range []string{vol, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(vol, "keep"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(vol, other, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(other, unix.MNT_DETACH)
	if err := removePodDir(podDir); err == nil || !strings.Contains(err.Error(), "still mounted") {
		t.Fatalf("removePodDir with a mount below: %v", err)
	}
	if _, err := os.Stat(filepath.Join(vol, "keep")); err != nil {
		t.Fatalf("the mounted directory's file is gone: %v", err)
	}
}
