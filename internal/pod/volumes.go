package pod

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Volume is a pod volume made ready on the host.
type Volume struct {
	HostPath string
	ReadOnly bool // configMap and secret volumes are always read-only
}

// VolumesDir is where a pod's emptyDir, configMap and secret volumes live.
func VolumesDir(podDir string) string { return filepath.Join(podDir, "volumes") }

// privateMode is the mode of every directory that holds a pod's data (the
// pod directory, its volumes and logs), as the kubelet makes its pod
// directories: root and root's group only. The volumes themselves are
// mounted into containers, whose users must read them; they are private
// through these directories.
const privateMode os.FileMode = 0o750

// PreparePodDir makes podDir and its volumes and logs directories private:
// created 0750, or tightened to it when they exist with more.
func PreparePodDir(podDir string) error {
	if err := privateDir(filepath.Dir(podDir), 0o700); err != nil {
		return err
	}
	for _, d := range []string{podDir, VolumesDir(podDir), LogDir(podDir)} {
		if err := privateDir(d, privateMode); err != nil {
			return err
		}
	}
	return nil
}

// privateDir makes dir (its parent must exist) with mode, or takes away
// from an existing one every permission beyond mode. A symlink or a file
// there is an error: the pod's data would go where it points.
func privateDir(dir string, mode os.FileMode) error {
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory (%s)", dir, st.Mode().Type())
	}
	if st.Mode().Perm()&^mode != 0 {
		return os.Chmod(dir, st.Mode().Perm()&mode)
	}
	return nil
}

// PrepareVolumes makes every volume of p exist on the host: emptyDirs as
// directories under podDir, configMap and secret contents as files,
// hostPaths checked (or created) per their type. Everything it writes or
// removes under podDir goes through an os.Root on the volumes directory:
// nothing a volume's name or item path says can leave it.
func PrepareVolumes(p *corev1.Pod, podDir, claimsDir string, objs Objects) (map[string]Volume, error) {
	if err := PreparePodDir(podDir); err != nil {
		return nil, fmt.Errorf("pod directory: %w", err)
	}
	root, err := os.OpenRoot(VolumesDir(podDir))
	if err != nil {
		return nil, err
	}
	defer root.Close()
	out := map[string]Volume{}
	for i, v := range p.Spec.Volumes {
		vol, err := prepareVolume(p, v, root, claimsDir, objs)
		if err != nil {
			return nil, fmt.Errorf("spec.volumes[%d] (%s): %w", i, v.Name, err)
		}
		if g := fsGroupOf(p); g != nil && ownedByFSGroup(v) {
			if err := setVolumeOwnership(vol.HostPath, *g, vol.ReadOnly); err != nil {
				return nil, fmt.Errorf("spec.volumes[%d] (%s): fsGroup: %w", i, v.Name, err)
			}
		}
		out[v.Name] = vol
	}
	return out, nil
}

func prepareVolume(p *corev1.Pod, v corev1.Volume, root *os.Root, claimsDir string, objs Objects) (Volume, error) {
	ns := p.Namespace
	if msgs := validation.IsDNS1123Label(v.Name); len(msgs) > 0 {
		// Checked when the manifest is read; here too, as it names a path.
		return Volume{}, fmt.Errorf("name %q: %s", v.Name, strings.Join(msgs, "; "))
	}
	path := filepath.Join(root.Name(), v.Name)
	switch {
	case v.EmptyDir != nil:
		// World-writable as the kubelet makes it, so non-root containers
		// can use it (the pod directory above it is private).
		if err := volumeDir(root, v.Name, 0o777); err != nil {
			return Volume{}, err
		}
		if v.EmptyDir.Medium == corev1.StorageMediumMemory {
			if err := mountMemory(path, v.EmptyDir); err != nil {
				return Volume{}, err
			}
		}
		return Volume{HostPath: path}, nil
	case v.HostPath != nil:
		return hostPathVolume(v.HostPath)
	case v.ConfigMap != nil:
		data, err := configMapData(objs, ns, v.ConfigMap.Name, isOptional(v.ConfigMap.Optional))
		if err != nil {
			return Volume{}, err
		}
		return Volume{HostPath: path, ReadOnly: true}, writeFiles(root, v.Name, data, v.ConfigMap.Items, v.ConfigMap.DefaultMode, isOptional(v.ConfigMap.Optional))
	case v.Secret != nil:
		data, err := secretData(objs, ns, v.Secret.SecretName, isOptional(v.Secret.Optional))
		if err != nil {
			return Volume{}, err
		}
		return Volume{HostPath: path, ReadOnly: true}, writeFiles(root, v.Name, data, v.Secret.Items, v.Secret.DefaultMode, isOptional(v.Secret.Optional))
	case v.PersistentVolumeClaim != nil:
		return claimVolume(claimsDir, ns, v.PersistentVolumeClaim)
	case v.DownwardAPI != nil:
		files := map[string]projectedFile{}
		if err := downwardFiles(p, v.DownwardAPI.Items, files); err != nil {
			return Volume{}, err
		}
		return Volume{HostPath: path, ReadOnly: true}, writeProjected(root, v.Name, files, v.DownwardAPI.DefaultMode)
	case v.Projected != nil:
		files, err := projectedFiles(p, v.Projected, objs)
		if err != nil {
			return Volume{}, err
		}
		return Volume{HostPath: path, ReadOnly: true}, writeProjected(root, v.Name, files, v.Projected.DefaultMode)
	}
	return Volume{}, fmt.Errorf("volume type not supported by dockerlet (emptyDir, hostPath, configMap, secret, persistentVolumeClaim, downwardAPI, projected)")
}

// volumeDir makes root's directory name with exactly mode (a directory
// there with another mode gets it; anything else is an error).
func volumeDir(root *os.Root, name string, mode os.FileMode) error {
	if err := root.Mkdir(name, mode); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	st, err := root.Lstat(name)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory (%s)", name, st.Mode().Type())
	}
	if st.Mode().Perm() != mode {
		return root.Chmod(name, mode)
	}
	return nil
}

func hostPathVolume(h *corev1.HostPathVolumeSource) (Volume, error) {
	if !filepath.IsAbs(h.Path) {
		return Volume{}, fmt.Errorf("hostPath %q: must be absolute", h.Path)
	}
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	st, err := os.Stat(h.Path)
	switch t {
	case corev1.HostPathUnset:
	case corev1.HostPathDirectoryOrCreate:
		if os.IsNotExist(err) {
			if err := os.MkdirAll(h.Path, 0o755); err != nil {
				return Volume{}, err
			}
			break
		}
		if err == nil && !st.IsDir() {
			return Volume{}, fmt.Errorf("hostPath %q: not a directory", h.Path)
		}
	case corev1.HostPathFileOrCreate:
		if os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
				return Volume{}, err
			}
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return Volume{}, err
			}
			f.Close()
			break
		}
		if err == nil && st.IsDir() {
			return Volume{}, fmt.Errorf("hostPath %q: is a directory", h.Path)
		}
	case corev1.HostPathDirectory:
		if err != nil || !st.IsDir() {
			return Volume{}, fmt.Errorf("hostPath %q: no such directory", h.Path)
		}
	case corev1.HostPathFile:
		if err != nil || st.IsDir() {
			return Volume{}, fmt.Errorf("hostPath %q: no such file", h.Path)
		}
	case corev1.HostPathSocket:
		if err != nil || st.Mode()&os.ModeSocket == 0 {
			return Volume{}, fmt.Errorf("hostPath %q: no such socket", h.Path)
		}
	case corev1.HostPathCharDev, corev1.HostPathBlockDev:
		if err != nil || st.Mode()&os.ModeDevice == 0 {
			return Volume{}, fmt.Errorf("hostPath %q: no such device", h.Path)
		}
	default:
		return Volume{}, fmt.Errorf("hostPath type %q is not known", t)
	}
	return Volume{HostPath: h.Path}, nil
}

// writeFiles makes root's directory name hold exactly data (or the
// selected items), each file with its mode (defaultMode, 0644 when unset,
// as Kubernetes). It updates in place, each file replaced atomically by a
// rename: a running container has the directory bind-mounted, so it must
// stay the same directory (a supervisor restart prepares the volumes
// again). Every operation goes through an os.Root on that directory.
func writeFiles(root *os.Root, name string, data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32, optional bool) error {
	mode := os.FileMode(corev1.SecretVolumeSourceDefaultMode)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode) & 0o777
	}
	type file struct {
		data []byte
		mode os.FileMode
	}
	files := map[string]file{}
	if len(items) == 0 {
		for k, b := range data {
			files[k] = file{b, mode}
		}
	} else {
		for _, it := range items {
			b, ok := data[it.Key]
			if !ok {
				if optional {
					continue
				}
				return fmt.Errorf("no key %q", it.Key)
			}
			m := mode
			if it.Mode != nil {
				m = os.FileMode(*it.Mode) & 0o777
			}
			files[it.Path] = file{b, m}
		}
	}
	// The directory is the container's view: readable by its user, whoever
	// that is (the pod directory above it is private).
	if err := volumeDir(root, name, 0o755); err != nil {
		return err
	}
	vol, err := root.OpenRoot(name)
	if err != nil {
		return err
	}
	defer vol.Close()
	keep := map[string]bool{}
	for _, fname := range sortedKeys(files) {
		f := files[fname]
		if !filepath.IsLocal(fname) {
			return fmt.Errorf("path %q escapes the volume", fname)
		}
		rel := filepath.Clean(fname)
		keep[rel] = true
		for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
			keep[d] = true
		}
		if d := filepath.Dir(rel); d != "." {
			if err := vol.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		if err := writeFileAtomic(vol, rel, f.data, f.mode); err != nil {
			return err
		}
	}
	// Drop what is no longer in the data, deepest first.
	var stale []string
	_ = fs.WalkDir(vol.FS(), ".", func(p string, _ fs.DirEntry, err error) error {
		if err == nil && p != "." && !keep[p] {
			stale = append(stale, p)
		}
		return nil
	})
	for i := len(stale) - 1; i >= 0; i-- {
		if err := vol.RemoveAll(stale[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic makes rel in vol hold data with mode: unchanged content
// gets only the mode, new content a temporary file renamed over it.
func writeFileAtomic(vol *os.Root, rel string, data []byte, mode os.FileMode) error {
	if st, err := vol.Lstat(rel); err == nil && st.Mode().IsRegular() {
		if old, err := vol.ReadFile(rel); err == nil && bytes.Equal(old, data) {
			if st.Mode().Perm() == mode {
				return nil
			}
			return vol.Chmod(rel, mode)
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(rel), ".dockerlet-"+hex.EncodeToString(rnd[:]))
	// Born private; the final mode is set before the rename makes it visible.
	f, err := vol.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, vol.Chmod(tmp, mode)); err != nil {
		_ = vol.Remove(tmp)
		return err
	}
	if err := vol.Rename(tmp, rel); err != nil {
		_ = vol.Remove(tmp)
		return err
	}
	return nil
}

// mounts builds a container's CRI mounts from its volumeMounts. With
// pinDir, sub paths are pinned there (pinSubPath); without (tests, or a
// user who may not mount), they are resolved inside the volume only.
func mounts(c *corev1.Container, vols map[string]Volume, pinDir string) ([]*runtimeapi.Mount, error) {
	var out []*runtimeapi.Mount
	for i, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("container %s: volumeMounts[%d]: no volume %q", c.Name, i, vm.Name)
		}
		if !filepath.IsAbs(vm.MountPath) {
			return nil, fmt.Errorf("container %s: volumeMounts[%d].mountPath %q: must be absolute", c.Name, i, vm.MountPath)
		}
		host := v.HostPath
		if vm.SubPath != "" {
			rel := filepath.Clean(vm.SubPath)
			if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
				return nil, fmt.Errorf("container %s: volumeMounts[%d].subPath %q escapes the volume", c.Name, i, vm.SubPath)
			}
			// A container can plant a symlink in a writable volume: the
			// sub path is resolved inside the volume, as if it were /
			// (the kubelet's subPath rule), and made there.
			joined, err := securejoin.SecureJoin(v.HostPath, rel)
			if err != nil {
				return nil, fmt.Errorf("container %s: volumeMounts[%d].subPath %q: %w", c.Name, i, vm.SubPath, err)
			}
			if _, err := os.Lstat(joined); os.IsNotExist(err) && !v.ReadOnly {
				if err := pathrs.MkdirAll(v.HostPath, rel, 0o777); err != nil {
					return nil, fmt.Errorf("container %s: volumeMounts[%d].subPath %q: %w", c.Name, i, vm.SubPath, err)
				}
				if joined, err = securejoin.SecureJoin(v.HostPath, rel); err != nil {
					return nil, fmt.Errorf("container %s: volumeMounts[%d].subPath %q: %w", c.Name, i, vm.SubPath, err)
				}
			}
			host = joined
			if pinDir != "" {
				if host, err = pinSubPath(v.HostPath, rel, pinDir, c.Name, i); err != nil {
					return nil, fmt.Errorf("container %s: volumeMounts[%d].subPath %q: %w", c.Name, i, vm.SubPath, err)
				}
			}
		}
		out = append(out, &runtimeapi.Mount{
			ContainerPath: vm.MountPath,
			HostPath:      host,
			Readonly:      vm.ReadOnly || v.ReadOnly,
		})
	}
	return out, nil
}
