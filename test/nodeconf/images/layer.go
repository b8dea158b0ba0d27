package main

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"regexp"

	"github.com/dockerlet/dockerlet/internal/pod/localimage"
)

// hostProgram copies a dynamically linked program of this machine to p
// with the shared libraries ldd names for it, at their paths.
func hostProgram(l *localimage.Layer, p, src string) error {
	if err := l.HostFile(p, src, 0o755); err != nil {
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
		if err := l.HostFile(lib, real, 0o755); err != nil {
			return err
		}
	}
	return nil
}

var lddPath = regexp.MustCompile(`(?m)(/\S+) \(0x`)

// sharedLibs lists the absolute paths ldd prints for a program (the
// interpreter included); none for a static one.
func sharedLibs(prog string) ([]string, error) {
	static, err := localimage.IsStatic(prog)
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
