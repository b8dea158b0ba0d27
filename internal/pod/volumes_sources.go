package pod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ClaimsDir is where PersistentVolumeClaims live: <state>/claims/<ns>/<name>,
// outside every pod's directory, so that their data outlives down (down
// --volumes removes them).
func ClaimsDir(stateDir string) string { return filepath.Join(stateDir, "claims") }

// claimVolume makes the claim's directory (world-writable as an emptyDir,
// for whichever user the containers run as; the claims directory above it
// is private) through an os.Root on the claims directory.
func claimVolume(claimsDir, ns string, src *corev1.PersistentVolumeClaimVolumeSource) (Volume, error) {
	if msg := validateDNSSubdomain(src.ClaimName); msg != "" {
		return Volume{}, fmt.Errorf("claimName %q: %s", src.ClaimName, msg)
	}
	if err := os.MkdirAll(claimsDir, 0o700); err != nil {
		return Volume{}, err
	}
	root, err := os.OpenRoot(claimsDir)
	if err != nil {
		return Volume{}, err
	}
	defer root.Close()
	if err := volumeDir(root, ns, privateMode); err != nil {
		return Volume{}, err
	}
	if err := volumeDir(root, filepath.Join(ns, src.ClaimName), 0o777); err != nil {
		return Volume{}, err
	}
	return Volume{HostPath: filepath.Join(claimsDir, ns, src.ClaimName), ReadOnly: src.ReadOnly}, nil
}

// RemoveClaims removes the claims' directories ("ns/name" each).
func RemoveClaims(stateDir string, claims []string) error {
	root, err := os.OpenRoot(ClaimsDir(stateDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer root.Close()
	var errs []error
	for _, c := range claims {
		if !filepath.IsLocal(c) {
			continue
		}
		if err := root.RemoveAll(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// projectedFile is one file of a downwardAPI or projected volume.
type projectedFile struct {
	data []byte
	mode *int32
}

// writeProjected writes files (by path) as the volume's content.
func writeProjected(root *os.Root, name string, files map[string]projectedFile, defaultMode *int32) error {
	data := map[string][]byte{}
	var items []corev1.KeyToPath
	for path, f := range files {
		data[path] = f.data
		items = append(items, corev1.KeyToPath{Key: path, Path: path, Mode: f.mode})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Path < items[j].Path })
	if len(items) == 0 {
		return writeFiles(root, name, nil, nil, defaultMode, true)
	}
	return writeFiles(root, name, data, items, defaultMode, false)
}

// downwardFiles resolves a downwardAPI volume's items: the pod's metadata
// as the kubelet writes it (labels and annotations as sorted key="value"
// lines).
func downwardFiles(p *corev1.Pod, items []corev1.DownwardAPIVolumeFile, into map[string]projectedFile) error {
	for _, it := range items {
		if it.FieldRef == nil {
			return fmt.Errorf("%s: only fieldRef is supported (resourceFieldRef is not)", it.Path)
		}
		var v string
		switch path := it.FieldRef.FieldPath; path {
		case "metadata.labels":
			v = formatMap(p.Labels)
		case "metadata.annotations":
			v = formatMap(p.Annotations)
		case "metadata.name", "metadata.namespace", "metadata.uid":
			v, _ = fieldRef(p, path, "")
		default:
			if !strings.HasPrefix(path, "metadata.labels['") && !strings.HasPrefix(path, "metadata.annotations['") {
				return fmt.Errorf("%s: fieldPath %q: a volume shows metadata.name, namespace, uid, labels and annotations", it.Path, path)
			}
			var err error
			if v, err = fieldRef(p, path, ""); err != nil {
				return err
			}
		}
		into[it.Path] = projectedFile{[]byte(v), it.Mode}
	}
	return nil
}

// formatMap is the kubelet's rendering of labels and annotations.
func formatMap(m map[string]string) string {
	keys := sortedKeys(m)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, m[k])
	}
	return b.String()
}

// objectFiles selects data's keys (all, or items) as files.
func objectFiles(data map[string][]byte, items []corev1.KeyToPath, optional bool, into map[string]projectedFile) error {
	if len(items) == 0 {
		for k, b := range data {
			into[k] = projectedFile{data: b}
		}
		return nil
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("no key %q", it.Key)
		}
		into[it.Path] = projectedFile{b, it.Mode}
	}
	return nil
}

// projectedFiles resolves a projected volume's sources, in order.
func projectedFiles(p *corev1.Pod, src *corev1.ProjectedVolumeSource, objs Objects) (map[string]projectedFile, error) {
	files := map[string]projectedFile{}
	for i, s := range src.Sources {
		var err error
		switch {
		case s.ConfigMap != nil:
			var data map[string][]byte
			data, err = configMapData(objs, p.Namespace, s.ConfigMap.Name, isOptional(s.ConfigMap.Optional))
			if err == nil {
				err = objectFiles(data, s.ConfigMap.Items, isOptional(s.ConfigMap.Optional), files)
			}
		case s.Secret != nil:
			var data map[string][]byte
			data, err = secretData(objs, p.Namespace, s.Secret.Name, isOptional(s.Secret.Optional))
			if err == nil {
				err = objectFiles(data, s.Secret.Items, isOptional(s.Secret.Optional), files)
			}
		case s.DownwardAPI != nil:
			err = downwardFiles(p, s.DownwardAPI.Items, files)
		default:
			err = errors.New("only configMap, secret and downwardAPI sources are supported")
		}
		if err != nil {
			return nil, fmt.Errorf("sources[%d]: %w", i, err)
		}
	}
	return files, nil
}

// configMapData is a config map's content; nil when an optional one is
// missing.
func configMapData(objs Objects, ns, name string, optional bool) (map[string][]byte, error) {
	cm, ok := objs.ConfigMap(ns, name)
	if !ok {
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("configMap %q not found in the manifest", name)
	}
	data := map[string][]byte{}
	for k, s := range cm.Data {
		data[k] = []byte(s)
	}
	for k, b := range cm.BinaryData {
		data[k] = b
	}
	return data, nil
}

// secretData is a secret's content; nil when an optional one is missing.
func secretData(objs Objects, ns, name string, optional bool) (map[string][]byte, error) {
	s, ok := objs.Secret(ns, name)
	if !ok {
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("secret %q not found in the manifest", name)
	}
	return s.Data, nil
}
