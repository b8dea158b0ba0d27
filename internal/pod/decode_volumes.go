package pod

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// validateVolumes checks what of a pod's volumes becomes a path on the
// host, as the API server does: names are DNS labels (a volume's directory
// is named after it), item paths relative and without "..", item keys
// valid data keys, modes within 0777.
func validateVolumes(vols []corev1.Volume) error {
	seen := map[string]bool{}
	for i, v := range vols {
		p := fmt.Sprintf("spec.volumes[%d]", i)
		if msgs := validation.IsDNS1123Label(v.Name); len(msgs) > 0 {
			return fmt.Errorf("%s.name %q: %s", p, v.Name, strings.Join(msgs, "; "))
		}
		if seen[v.Name] {
			return fmt.Errorf("%s.name %q: duplicate volume name", p, v.Name)
		}
		seen[v.Name] = true
		var items []corev1.KeyToPath
		var mode *int32
		switch {
		case v.EmptyDir != nil:
			switch v.EmptyDir.Medium {
			case corev1.StorageMediumDefault, corev1.StorageMediumMemory:
			default:
				return fmt.Errorf("%s.emptyDir.medium %q: dockerlet makes an emptyDir on disk (\"\") or in memory (Memory)", p, v.EmptyDir.Medium)
			}
			if l := v.EmptyDir.SizeLimit; l != nil && l.Sign() < 0 {
				return fmt.Errorf("%s.emptyDir.sizeLimit: must be greater than or equal to 0", p)
			}
		case v.ConfigMap != nil:
			items, mode, p = v.ConfigMap.Items, v.ConfigMap.DefaultMode, p+".configMap"
		case v.Secret != nil:
			items, mode, p = v.Secret.Items, v.Secret.DefaultMode, p+".secret"
		case v.PersistentVolumeClaim != nil:
			if msg := validateDNSSubdomain(v.PersistentVolumeClaim.ClaimName); msg != "" {
				return fmt.Errorf("%s.persistentVolumeClaim.claimName %q: %s", p, v.PersistentVolumeClaim.ClaimName, msg)
			}
		case v.DownwardAPI != nil:
			mode = v.DownwardAPI.DefaultMode
			if err := validateDownwardItems(p+".downwardAPI", v.DownwardAPI.Items); err != nil {
				return err
			}
		case v.Projected != nil:
			mode = v.Projected.DefaultMode
			for j, s := range v.Projected.Sources {
				sp := fmt.Sprintf("%s.projected.sources[%d]", p, j)
				var err error
				switch {
				case s.ConfigMap != nil:
					err = validateItems(sp+".configMap", s.ConfigMap.Items)
				case s.Secret != nil:
					err = validateItems(sp+".secret", s.Secret.Items)
				case s.DownwardAPI != nil:
					err = validateDownwardItems(sp+".downwardAPI", s.DownwardAPI.Items)
				}
				if err != nil {
					return err
				}
			}
		}
		if err := validateMode(p+".defaultMode", mode); err != nil {
			return err
		}
		if err := validateItems(p, items); err != nil {
			return err
		}
	}
	return nil
}

// validateItems checks the items of a configMap or secret volume (or
// projected source).
func validateItems(p string, items []corev1.KeyToPath) error {
	for j, it := range items {
		ip := fmt.Sprintf("%s.items[%d]", p, j)
		if msgs := validation.IsConfigMapKey(it.Key); len(msgs) > 0 {
			return fmt.Errorf("%s.key %q: %s", ip, it.Key, strings.Join(msgs, "; "))
		}
		if err := validateItemPath(it.Path); err != nil {
			return fmt.Errorf("%s.path %q: %w", ip, it.Path, err)
		}
		if err := validateMode(ip+".mode", it.Mode); err != nil {
			return err
		}
	}
	return nil
}

// validateDownwardItems checks the files of a downwardAPI volume (or
// projected source).
func validateDownwardItems(p string, items []corev1.DownwardAPIVolumeFile) error {
	for j, it := range items {
		ip := fmt.Sprintf("%s.items[%d]", p, j)
		if err := validateItemPath(it.Path); err != nil {
			return fmt.Errorf("%s.path %q: %w", ip, it.Path, err)
		}
		if err := validateMode(ip+".mode", it.Mode); err != nil {
			return err
		}
	}
	return nil
}

// validateItemPath is the API server's rule for a file inside a volume: a
// relative path with no ".." element, not starting with "..".
func validateItemPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("must not be empty")
	case filepath.IsAbs(p):
		return fmt.Errorf("must be a relative path")
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("must not start with '..'")
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("must not contain '..'")
		}
	}
	return nil
}

func validateMode(path string, m *int32) error {
	if m != nil && (*m < 0 || *m > 0o777) {
		return fmt.Errorf("%s %d: must be a number between 0 and 0777 (octal)", path, *m)
	}
	return nil
}

// validateDataKeys checks a Secret's or ConfigMap's keys, which become
// file names in the volumes that show them.
func validateDataKeys(keys []string) error {
	sort.Strings(keys)
	for _, k := range keys {
		if msgs := validation.IsConfigMapKey(k); len(msgs) > 0 {
			return fmt.Errorf("data key %q: %s", k, strings.Join(msgs, "; "))
		}
	}
	return nil
}
