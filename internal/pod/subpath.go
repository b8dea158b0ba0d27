package pod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// SubPathsDir is where a pod's subPath mounts are pinned (see pinSubPath).
func SubPathsDir(podDir string) string { return filepath.Join(podDir, "volume-subpaths") }

// pinSubPath resolves rel inside the volume root and bind-mounts what it
// names onto a path of dockerlet's own, which is what Docker is given.
//
// Why: a container can replace a directory of a shared writable volume
// with a symlink between the moment the path is resolved and the moment
// Docker mounts it (Docker follows symlinks in a bind source), and so have
// a host path mounted into another container (CVE-2017-1002101). Opening
// the sub path with every component resolved inside the root and mounting
// the open file, as the kubelet does, leaves no such window: what is
// mounted is what was checked, whatever the path says later.
//
// The pin lives at dir/<container>/<index> until the pod is torn down
// (unpinSubPaths); a new instance of the container re-pins.
func pinSubPath(root, rel, dir, container string, index int) (string, error) {
	f, err := pathrs.OpenInRoot(root, rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	target := filepath.Join(dir, container, strconv.Itoa(index))
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return "", err
	}
	// A pin of an earlier instance: replaced, the old container keeps its
	// own mount.
	if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return "", fmt.Errorf("unpin %s: %w", target, err)
	}
	_ = os.Remove(target)
	if st.IsDir() {
		err = os.Mkdir(target, 0o750)
	} else {
		var t *os.File
		if t, err = os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640); err == nil {
			t.Close()
		}
	}
	if err != nil {
		return "", err
	}
	src := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		_ = os.Remove(target)
		return "", fmt.Errorf("bind-mount the sub path onto %s: %w", target, err)
	}
	return target, nil
}

// unpinSubPaths unmounts every pin under dir (dir/<container>/<index>),
// so that the pod directory can be removed.
func unpinSubPaths(dir string) error {
	var errs []error
	ctrs, _ := os.ReadDir(dir)
	for _, c := range ctrs {
		pins, _ := os.ReadDir(filepath.Join(dir, c.Name()))
		for _, p := range pins {
			path := filepath.Join(dir, c.Name(), p.Name())
			if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("unpin %s: %w", path, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points at or below dir (this process's
// mount namespace): os.RemoveAll would cross into them and delete what a
// pin shows, a volume's or the host's files.
func mountsUnder(dir string) ([]string, error) {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	return out, nil
}

// removePodDir removes a pod's directory once no pin (or other mount) is
// left below it.
func removePodDir(podDir string) error {
	if err := unpinSubPaths(SubPathsDir(podDir)); err != nil {
		return err
	}
	abs, err := filepath.Abs(podDir)
	if err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real // mountinfo names resolved paths
	} else if os.IsNotExist(err) {
		return nil
	}
	if err := unmountVolumes(VolumesDir(abs)); err != nil {
		return err
	}
	if left, err := mountsUnder(abs); err != nil {
		return fmt.Errorf("remove %s: cannot check for mounts: %w", podDir, err)
	} else if len(left) > 0 {
		return fmt.Errorf("remove %s: still mounted below it: %v", podDir, left)
	}
	return os.RemoveAll(podDir)
}
