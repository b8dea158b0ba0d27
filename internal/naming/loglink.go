package naming

import (
	"path/filepath"
	"unicode/utf8"
)

// ext4MaxFileNameLen is the longest file name ext4 accepts.
const ext4MaxFileNameLen = 255

// LogLink returns the per-container log link path
// <dir>/<pod>_<namespace>_<container>-<id>.log, cutting the base name so the
// whole file name fits ext4's 255 bytes.
func LogLink(dir, pod, namespace, container, id string) string {
	const suffix = ".log"
	base := pod + "_" + namespace + "_" + container + "-" + id
	if max := ext4MaxFileNameLen - len(suffix); len(base) > max {
		cut := max
		// Never split a multi-byte character: the link name stays valid UTF-8.
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
		base = base[:cut]
	}
	return filepath.Join(dir, base+suffix)
}
