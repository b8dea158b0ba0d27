package pod

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// TestMemoryEmptyDirAndFSGroup: a Memory emptyDir is a tmpfs of its
// sizeLimit, unmounted with the pod's directory; fsGroup owns the pod's
// volumes (group, setgid directories) and is a supplemental group.
func TestMemoryEmptyDirAndFSGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (tmpfs, chown)")
	}
	m, err := Parse("x", strings.NewReader(`apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {k: v}
---
apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  securityContext: {fsGroup: 2345, supplementalGroups: [7]}
  volumes:
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
  - {name: disk, emptyDir: {}}
  - {name: cfg, configMap: {name: cfg}}
  containers: [{name: c, image: i}]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := m.Pods[0]
	p.UID = "uid-a"
	podDir := filepath.Join(t.TempDir(), "pod")
	vols, err := PrepareVolumes(p, podDir, filepath.Join(t.TempDir(), "claims"), m)
	if err != nil {
		t.Fatal(err)
	}
	mem := vols["mem"].HostPath
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(mem))
	if err != nil || len(ms) != 1 || ms[0].FSType != "tmpfs" || !strings.Contains(ms[0].VFSOptions, "size=1024k") {
		t.Fatalf("mounts at %s: %+v %v", mem, ms, err)
	}
	// Prepared again (a supervisor that started again): not mounted twice.
	if _, err := PrepareVolumes(p, podDir, filepath.Join(t.TempDir(), "claims"), m); err != nil {
		t.Fatal(err)
	}
	if ms, _ := mountinfo.GetMounts(mountinfo.SingleEntryFilter(mem)); len(ms) != 1 {
		t.Fatalf("%d mounts after a second prepare", len(ms))
	}
	for name, path := range map[string]string{"disk": vols["disk"].HostPath, "cfg file": filepath.Join(vols["cfg"].HostPath, "k"), "mem": mem} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if gid := st.Sys().(*syscall.Stat_t).Gid; gid != 2345 {
			t.Errorf("%s: group %d, want the fsGroup", name, gid)
		}
		if st.IsDir() && st.Mode()&os.ModeSetgid == 0 {
			t.Errorf("%s: no setgid bit (%s)", name, st.Mode())
		}
	}
	cfg, err := ContainerConfig(p, ContainerInput{Container: &p.Spec.Containers[0], Image: "i", Volumes: vols, Objects: m})
	if err != nil {
		t.Fatal(err)
	}
	if g := cfg.Linux.SecurityContext.SupplementalGroups; len(g) != 2 || g[0] != 7 || g[1] != 2345 {
		t.Fatalf("supplemental groups: %v", g)
	}
	if err := removePodDir(podDir); err != nil {
		t.Fatal(err)
	}
	if ms, _ := mountinfo.GetMounts(mountinfo.SingleEntryFilter(mem)); len(ms) != 0 {
		t.Fatal("the tmpfs outlived the pod directory")
	}
}
