package pod

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/containerd/errdefs"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// mountMemory puts a tmpfs on an emptyDir's directory (medium: Memory),
// its sizeLimit as the size, as the kubelet does; one already mounted
// there (a supervisor that started again) is kept.
func mountMemory(path string, ed *corev1.EmptyDirVolumeSource) error {
	if mounted, err := mountinfo.Mounted(path); err == nil && mounted {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("emptyDir medium Memory: mounting a tmpfs needs root: %w", errdefs.ErrFailedPrecondition)
	}
	opts := "mode=0777"
	if l := ed.SizeLimit; l != nil && l.Value() > 0 {
		opts += ",size=" + strconv.FormatInt(l.Value(), 10)
	}
	if err := unix.Mount("tmpfs", path, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("emptyDir medium Memory: mount a tmpfs on %s: %w", path, err)
	}
	return nil
}

// unmountVolumes unmounts the tmpfs of a pod's Memory emptyDirs (a
// volume's own directory), so that the pod directory can go; any other
// mount below it is left, for removePodDir to refuse.
func unmountVolumes(volumesDir string) error {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(volumesDir))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range ms {
		if m.FSType != "tmpfs" || filepath.Dir(m.Mountpoint) != volumesDir {
			continue
		}
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m.Mountpoint, err))
		}
	}
	return errors.Join(errs...)
}

// ownedByFSGroup reports whether a volume's files get the pod's fsGroup:
// those the kubelet manages (not a hostPath, the host's own files).
func ownedByFSGroup(v corev1.Volume) bool {
	return v.HostPath == nil
}

// setVolumeOwnership gives a volume's files the pod's fsGroup as the
// kubelet does: group gid, group read (and write unless read-only), and
// on directories group search and setgid, so that files made later get
// the group too. Symbolic links are not followed.
func setVolumeOwnership(dir string, gid int64, readOnly bool) error {
	mask := fs.FileMode(0o660)
	if readOnly {
		mask = 0o440
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, -1, int(gid)); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m := mask
		if d.IsDir() {
			m |= 0o110 | fs.ModeSetgid
		}
		if want := info.Mode() | m; want != info.Mode() {
			return os.Chmod(path, want&(fs.ModePerm|fs.ModeSetgid|fs.ModeSetuid|fs.ModeSticky))
		}
		return nil
	})
}

// fsGroupOf is the pod's fsGroup (nil when none).
func fsGroupOf(p *corev1.Pod) *int64 {
	if sc := p.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

// withFSGroup adds the pod's fsGroup to supplemental groups, as the kubelet
// gives every container the group its volumes are owned by.
func withFSGroup(p *corev1.Pod, groups []int64) []int64 {
	if g := fsGroupOf(p); g != nil && !slices.Contains(groups, *g) {
		return append(slices.Clone(groups), *g)
	}
	return groups
}
