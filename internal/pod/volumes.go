package pod

import (
	"bytes"
	"errors"
	"fmt"
	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Volume is a pod volume made ready on the host.
type Volume struct {
	HostPath string
	ReadOnly bool // configMap and secret volumes are always read-only
}

// VolumesDir is where a pod's emptyDir, configMap and secret volumes live.
func VolumesDir(podDir string) string { return filepath.Join(podDir, "volumes") }

// PrepareVolumes makes every volume of p exist on the host: emptyDirs as
// directories under podDir, configMap and secret contents as files,
// hostPaths checked (or created) per their type.
func PrepareVolumes(p *corev1.Pod, podDir string, objs Objects) (map[string]Volume, error) {
	out := map[string]Volume{}
	for i, v := range p.Spec.Volumes {
		vol, err := prepareVolume(p.Namespace, v, VolumesDir(podDir), objs)
		if err != nil {
			return nil, fmt.Errorf("spec.volumes[%d] (%s): %w", i, v.Name, err)
		}
		out[v.Name] = vol
	}
	return out, nil
}

func prepareVolume(ns string, v corev1.Volume, dir string, objs Objects) (Volume, error) {
	path := filepath.Join(dir, v.Name)
	switch {
	case v.EmptyDir != nil:
		if err := os.MkdirAll(path, 0o755); err != nil {
			return Volume{}, err
		}
		// World-writable as the kubelet makes it, so non-root containers
		// can use it.
		if err := os.Chmod(path, 0o777); err != nil {
			return Volume{}, err
		}
		return Volume{HostPath: path}, nil
	case v.HostPath != nil:
		return hostPathVolume(v.HostPath)
	case v.ConfigMap != nil:
		cm, ok := objs.ConfigMap(ns, v.ConfigMap.Name)
		data := map[string][]byte{}
		if !ok {
			if !isOptional(v.ConfigMap.Optional) {
				return Volume{}, fmt.Errorf("configMap %q not found in the manifest", v.ConfigMap.Name)
			}
		} else {
			for k, s := range cm.Data {
				data[k] = []byte(s)
			}
			for k, b := range cm.BinaryData {
				data[k] = b
			}
		}
		return Volume{HostPath: path, ReadOnly: true}, writeFiles(path, data, v.ConfigMap.Items, v.ConfigMap.DefaultMode, isOptional(v.ConfigMap.Optional))
	case v.Secret != nil:
		s, ok := objs.Secret(ns, v.Secret.SecretName)
		data := map[string][]byte{}
		if !ok {
			if !isOptional(v.Secret.Optional) {
				return Volume{}, fmt.Errorf("secret %q not found in the manifest", v.Secret.SecretName)
			}
		} else {
			data = s.Data
		}
		return Volume{HostPath: path, ReadOnly: true}, writeFiles(path, data, v.Secret.Items, v.Secret.DefaultMode, isOptional(v.Secret.Optional))
	}
	return Volume{}, fmt.Errorf("volume type not supported by dockerlet (emptyDir, hostPath, configMap, secret)")
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

// writeFiles makes dir hold exactly data (or the selected items). It
// updates in place, each file replaced atomically by a rename: a running
// container has dir bind-mounted, so dir itself must stay the same
// directory (a supervisor restart prepares the volumes again).
func writeFiles(dir string, data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32, optional bool) error {
	mode := os.FileMode(0o644)
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
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, name := range sortedKeys(files) {
		f := files[name]
		rel := filepath.Clean(name)
		if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("path %q escapes the volume", name)
		}
		p := filepath.Join(dir, rel)
		keep[p] = true
		for d := filepath.Dir(p); d != dir; d = filepath.Dir(d) {
			keep[d] = true
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.data) {
			if err := os.Chmod(p, f.mode); err != nil {
				return err
			}
			continue
		}
		tmp, err := os.CreateTemp(filepath.Dir(p), ".dockerlet-*")
		if err != nil {
			return err
		}
		_, werr := tmp.Write(f.data)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), f.mode)); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		if err := os.Rename(tmp.Name(), p); err != nil {
			os.Remove(tmp.Name())
			return err
		}
	}
	// Drop what is no longer in the data, deepest first.
	var stale []string
	_ = filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil && p != dir && !keep[p] {
			stale = append(stale, p)
		}
		return nil
	})
	for i := len(stale) - 1; i >= 0; i-- {
		if err := os.RemoveAll(stale[i]); err != nil {
			return err
		}
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
