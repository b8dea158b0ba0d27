package crilog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
)

// logFile names a container's CRI log as a path inside a root: the pod's
// log directory. dockerlet writes it as root, so every component below the
// root is resolved inside the root (os.Root: a symlink or ".." that leads
// out of it is refused, never followed). A symlink planted in the pod's log
// directory (by anything that can write there, say a container with it
// mounted) cannot turn the copier into a write elsewhere on the host.
type logFile struct {
	root string // absolute; trusted (the kubelet chose it)
	rel  string // local to root
}

// newLogFile splits path into root and a path local to it.
func newLogFile(root, path string) (logFile, error) {
	if root == "" {
		root = filepath.Dir(path)
	}
	if !filepath.IsAbs(root) || !filepath.IsAbs(path) {
		return logFile{}, fmt.Errorf("crilog: log path %q and directory %q must be absolute: %w", path, root, errdefs.ErrInvalidArgument)
	}
	rel, err := filepath.Rel(root, path)
	if err != nil || !filepath.IsLocal(rel) {
		return logFile{}, fmt.Errorf("crilog: log path %q is not inside %q: %w", path, root, errdefs.ErrInvalidArgument)
	}
	return logFile{root: root, rel: rel}, nil
}

func (l logFile) path() string { return filepath.Join(l.root, l.rel) }

// openDir opens the directory holding the log file, resolved inside the
// root, and returns it with the file's base name. With create it makes the
// missing directories (inside the root, too).
func (l logFile) openDir(create bool) (*os.Root, string, error) {
	if create {
		if err := os.MkdirAll(l.root, 0o755); err != nil {
			return nil, "", fmt.Errorf("create log directory: %w", err)
		}
	}
	root, err := os.OpenRoot(l.root)
	if err != nil {
		return nil, "", fmt.Errorf("open log directory: %w", err)
	}
	defer root.Close()
	dir := filepath.Dir(l.rel)
	if create && dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return nil, "", fmt.Errorf("create log directory %s in %s: %w", dir, l.root, err)
		}
	}
	d, err := root.OpenRoot(dir)
	if err != nil {
		return nil, "", fmt.Errorf("open log directory %s in %s: %w", dir, l.root, err)
	}
	return d, filepath.Base(l.rel), nil
}

// open opens the log for appending, creating it and its directories.
func (l logFile) open() (*os.File, error) {
	d, name, err := l.openDir(true)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	f, err := d.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open container log: %w", err)
	}
	return f, nil
}

// replaceSymlink removes a symlink where the log file goes. Runtimes that
// pointed the CRI log path at Docker's own JSON log (cri-dockerd,
// dockershim) leave one behind; writing through it would append CRI
// records to Docker's file (and one pointing out of the root is refused).
func (l logFile) replaceSymlink() error {
	d, name, err := l.openDir(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	fi, err := d.Lstat(name)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return nil
	}
	if err := d.Remove(name); err != nil {
		return fmt.Errorf("remove log symlink %s: %w", l.path(), err)
	}
	return nil
}
