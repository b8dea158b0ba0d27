package localimage

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is one file-system object of a layer.
type entry struct {
	typ      byte   // tar.TypeDir, TypeReg, TypeLink, TypeSymlink
	mode     int64  // permission bits, setuid included
	body     []byte // TypeReg
	linkname string // TypeLink (path in the layer), TypeSymlink (target)
	uid, gid int
}

// Layer is an image layer built in memory, by path. A later add of the
// same path replaces the earlier one, so an image can start from
// busybox's applets and put a real program or other account files over
// them. Every image dockerlet and its tests build FROM scratch is made
// with it.
type Layer struct {
	entries map[string]entry
}

// NewLayer returns an empty layer.
func NewLayer() *Layer { return &Layer{entries: map[string]entry{}} }

// Dir adds a directory owned by root.
func (l *Layer) Dir(p string, mode int64) { l.DirOwned(p, mode, 0, 0) }

// DirOwned adds a directory owned by uid:gid.
func (l *Layer) DirOwned(p string, mode int64, uid, gid int) {
	l.parents(p)
	l.entries[clean(p)] = entry{typ: tar.TypeDir, mode: mode, uid: uid, gid: gid}
}

// File adds a regular file.
func (l *Layer) File(p string, mode int64, body []byte) {
	l.parents(p)
	l.entries[clean(p)] = entry{typ: tar.TypeReg, mode: mode, body: body}
}

// Text adds a 0644 text file.
func (l *Layer) Text(p, body string) { l.File(p, 0o644, []byte(body)) }

// Hardlink adds p as a hard link to target, a path in the layer.
func (l *Layer) Hardlink(p, target string) {
	l.parents(p)
	l.entries[clean(p)] = entry{typ: tar.TypeLink, mode: 0o755, linkname: clean(target)}
}

// Symlink adds p as a symbolic link to target.
func (l *Layer) Symlink(p, target string) {
	l.parents(p)
	l.entries[clean(p)] = entry{typ: tar.TypeSymlink, mode: 0o777, linkname: target}
}

// HostFile copies a file of this machine into the layer at p.
func (l *Layer) HostFile(p, src string, mode int64) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	l.File(p, mode, b)
	return nil
}

// parents adds the missing parent directories of p (0755).
func (l *Layer) parents(p string) {
	for d := path.Dir(clean(p)); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := l.entries[d]; !ok {
			l.entries[d] = entry{typ: tar.TypeDir, mode: 0o755}
		}
	}
}

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// Build writes the entries sorted by path (hard links last, after what
// they link to: Docker refuses a link before its target) with a fixed
// time, so the same inputs always give the same layer digest and image ID.
func (l *Layer) Build() (v1.Layer, error) {
	names := make([]string, 0, len(l.entries))
	for n := range l.entries {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		li, lj := l.entries[names[i]].typ == tar.TypeLink, l.entries[names[j]].typ == tar.TypeLink
		if li != lj {
			return lj
		}
		return names[i] < names[j]
	})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := l.entries[n]
		h := &tar.Header{Typeflag: e.typ, Name: n, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		switch e.typ {
		case tar.TypeDir:
			h.Name += "/"
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		case tar.TypeLink, tar.TypeSymlink:
			h.Linkname = e.linkname
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// BusyboxLayer is the static busybox at path (DefaultBusyboxPath if
// empty) with every applet hard-linked in /bin, like the upstream
// busybox image, a minimal /etc/passwd and /etc/group (root, nobody), a
// 1777 /tmp and the usual empty directories.
func BusyboxLayer(path string) (*Layer, error) {
	if path == "" {
		path = DefaultBusyboxPath
	}
	static, err := IsStatic(path)
	if err != nil {
		return nil, fmt.Errorf("read %s (install busybox-static): %w", path, err)
	}
	if !static {
		return nil, fmt.Errorf("%s is not statically linked (install busybox-static)", path)
	}
	out, err := exec.Command(path, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", path, err)
	}
	l := NewLayer()
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "var", "var/run"} {
		l.Dir(d, 0o755)
	}
	l.Dir("root", 0o700)
	l.Dir("tmp", 0o1777)
	if err := l.HostFile("bin/busybox", path, 0o755); err != nil {
		return nil, err
	}
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" && !strings.Contains(a, "/") {
			l.Hardlink("bin/"+a, "bin/busybox")
		}
	}
	l.Text("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")
	l.Text("etc/group", "root:x:0:\nnogroup:x:65534:\n")
	return l, nil
}

// IsStatic reports whether the ELF program at path has no interpreter (a
// dynamically linked program would not run FROM scratch).
func IsStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}
