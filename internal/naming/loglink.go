package naming

import (
	"path/filepath"
)

// ext4MaxFileNameLen is the longest file name ext4 accepts.
const ext4MaxFileNameLen = 255

// LogLink returns the per-container log link path
// <dir>/<pod>_<namespace>_<container>-<id>.log, cutting the base name so the
// whole file name fits ext4's 255 bytes.
func LogLink(dir, pod, namespace, container, id string) string {
	const suffix = ".log"
	base := pod + "_" + namespace + "_" + container + "-" + id
	if len(base) > ext4MaxFileNameLen-len(suffix) {
		base = base[:ext4MaxFileNameLen-len(suffix)]
	}
	return filepath.Join(dir, base+suffix)
}
