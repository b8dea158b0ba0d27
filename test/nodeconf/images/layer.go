package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"regexp"
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

// layer collects entries by path; a later add of the same path replaces
// the earlier one, so an image can start from busybox's applets and put a
// real program over one of them.
type layer struct {
	entries map[string]entry
}

func newLayer() *layer { return &layer{entries: map[string]entry{}} }

func (l *layer) dir(p string, mode int64) { l.dirOwned(p, mode, 0, 0) }

func (l *layer) dirOwned(p string, mode int64, uid, gid int) {
	l.parents(p)
	l.entries[clean(p)] = entry{typ: tar.TypeDir, mode: mode, uid: uid, gid: gid}
}

func (l *layer) file(p string, mode int64, body []byte) {
	l.parents(p)
	l.entries[clean(p)] = entry{typ: tar.TypeReg, mode: mode, body: body}
}

func (l *layer) text(p, body string) { l.file(p, 0o644, []byte(body)) }

func (l *layer) hardlink(p, target string) {
	l.parents(p)
	l.entries[clean(p)] = entry{typ: tar.TypeLink, mode: 0o755, linkname: clean(target)}
}

func (l *layer) symlink(p, target string) {
	l.parents(p)
	l.entries[clean(p)] = entry{typ: tar.TypeSymlink, mode: 0o777, linkname: target}
}

// hostFile copies a file of this machine into the layer at p.
func (l *layer) hostFile(p, src string, mode int64) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	l.file(p, mode, b)
	return nil
}

// hostProgram copies a dynamically linked program of this machine to p
// with the shared libraries ldd names for it, at their paths.
func (l *layer) hostProgram(p, src string) error {
	if err := l.hostFile(p, src, 0o755); err != nil {
		return err
	}
	libs, err := sharedLibs(src)
	if err != nil {
		return err
	}
	for _, lib := range libs {
		real, err := resolve(lib)
		if err != nil {
			return err
		}
		if err := l.hostFile(lib, real, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// parents adds the missing parent directories of p (0755).
func (l *layer) parents(p string) {
	for d := path.Dir(clean(p)); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := l.entries[d]; !ok {
			l.entries[d] = entry{typ: tar.TypeDir, mode: 0o755}
		}
	}
}

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// build writes the entries sorted by path (hard links last, after what
// they link to) with a fixed time, so the same inputs always give the same
// layer digest (a second push is a no-op).
func (l *layer) build() (v1.Layer, error) {
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

var lddPath = regexp.MustCompile(`(?m)(/\S+) \(0x`)

// sharedLibs lists the absolute paths ldd prints for a program (the
// interpreter included); none for a static one.
func sharedLibs(prog string) ([]string, error) {
	static, err := isStatic(prog)
	if err != nil || static {
		return nil, err
	}
	out, err := exec.Command("ldd", prog).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", prog, err)
	}
	var libs []string
	for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
		libs = append(libs, m[1])
	}
	return libs, nil
}

// resolve follows symbolic links to the file itself.
func resolve(p string) (string, error) {
	for range 16 {
		fi, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return p, nil
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(p), t)
		}
		p = t
	}
	return "", fmt.Errorf("%s: too many symbolic links", p)
}

// isStatic reports whether an ELF program has no interpreter.
func isStatic(p string) (bool, error) {
	f, err := elf.Open(p)
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
