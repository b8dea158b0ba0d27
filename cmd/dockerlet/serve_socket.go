package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
)

// listen opens the CRI endpoint: a unix socket created 0660 in a directory
// only root (or the server's own user) can change, or the socket systemd
// passes (fd://).
func listen(endpoint, group string) (net.Listener, error) {
	if endpoint == "fd://" || strings.HasPrefix(endpoint, "fd://") {
		ls, err := activation.Listeners()
		if err != nil {
			return nil, fmt.Errorf("socket activation: %w", err)
		}
		if len(ls) == 0 || ls[0] == nil {
			return nil, errors.New("socket activation: systemd passed no socket (fd://)")
		}
		return ls[0], nil
	}
	path, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok {
		if strings.Contains(endpoint, "://") {
			return nil, fmt.Errorf("endpoint %q: want unix://PATH or fd://", endpoint)
		}
		path = endpoint
	}
	if path == "" || !filepath.IsAbs(path) {
		return nil, fmt.Errorf("endpoint %q: want an absolute socket path", endpoint)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := checkSocketDir(dir); err != nil {
		return nil, err
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	old := syscall.Umask(0o117) // the socket is born 0660, no window
	lis, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		lis.Close()
		return nil, err
	}
	if group != "" {
		gid, err := lookupGID(group)
		if err == nil {
			err = os.Chown(path, -1, gid)
		}
		if err != nil {
			lis.Close()
			return nil, fmt.Errorf("--socket-group %q: %w", group, err)
		}
	}
	return lis, nil
}

// checkSocketDir refuses a socket directory that someone other than root
// (or this server's user) could change, and so replace the socket with
// their own and see every CRI call, pull credentials included: the
// directory and each directory above it (symlinks resolved) must be owned
// by root or this user and writable by nobody else — above the socket's
// own directory a sticky one (/tmp) is fine, as others cannot rename what
// it holds.
func checkSocketDir(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	euid := uint32(os.Geteuid())
	for d := real; ; d = filepath.Dir(d) {
		st, err := os.Lstat(d)
		if err != nil {
			return err
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("socket directory %s: cannot read its owner", d)
		}
		what := "socket directory " + dir
		if d != real {
			what = fmt.Sprintf("%s (above the socket directory %s)", d, dir)
		}
		perm := st.Mode().Perm()
		switch {
		case sys.Uid != 0 && sys.Uid != euid:
			return fmt.Errorf("%s is owned by uid %d: its owner could replace the socket; use a directory owned by root", what, sys.Uid)
		case perm&0o002 != 0 && (d == real || st.Mode()&os.ModeSticky == 0):
			return fmt.Errorf("%s is world-writable: anyone could replace the socket; use a private directory", what)
		case perm&0o020 != 0 && (d == real || st.Mode()&os.ModeSticky == 0):
			return fmt.Errorf("%s is group-writable: the group's members could replace the socket; use a private directory", what)
		}
		if d == "/" {
			return nil
		}
	}
}

// removeStaleSocket clears the endpoint path for a new socket: a socket no
// server answers on is removed; a live one (another server) or anything
// that is not a socket (a file a mistyped flag names) is left alone and
// refused.
func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("endpoint %s exists and is not a socket (%s): not removing it", path, st.Mode().Type())
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("endpoint %s: another server is listening on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	return nil
}

// lookupGID resolves a group name or numeric gid.
func lookupGID(group string) (int, error) {
	if gid, err := strconv.Atoi(group); err == nil {
		return gid, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}
