package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseServeFlags(t *testing.T) {
	f, err := parseServeFlags([]string{
		"--container-runtime-endpoint", "unix:///run/x.sock",
		"--registry-mirror", "registry.k8s.io=http://127.0.0.1:5000",
		"--registry-mirror=gcr.io=mirror.example:443/gcr/",
		"--runtime-request-timeout", "30s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.endpoint != "unix:///run/x.sock" || f.requestTimeout.String() != "30s" {
		t.Errorf("flags: %+v", f)
	}
	if f.mirrors["registry.k8s.io"] != "127.0.0.1:5000" || f.mirrors["gcr.io"] != "mirror.example:443/gcr" {
		t.Errorf("mirrors: %v", f.mirrors)
	}
	for _, bad := range [][]string{
		{"--registry-mirror", "nohost"}, {"--registry-mirror", "x=http://"}, {"extra"},
		// The registry's credentials would go to the mirror in clear text.
		{"--registry-mirror", "registry.k8s.io=http://127.0.0.1:5000", "--registry-mirror-credentials"},
	} {
		if _, err := parseServeFlags(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

// A unit file written for the Go flag package's spellings (one dash) keeps
// working beside the POSIX ones.
func TestParseServeFlagsOldSpellings(t *testing.T) {
	f, err := parseServeFlags([]string{
		"-container-runtime-endpoint", "unix:///run/x.sock", "-network-plugin=cni",
		"-registry-mirror", "registry.k8s.io=127.0.0.1:5000", "-log-level", "debug", "-adopt-cri-dockerd",
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.endpoint != "unix:///run/x.sock" || f.networkPlugin != "cni" || f.logLevel != "debug" || !f.criDockerd.adopt || f.mirrors["registry.k8s.io"] != "127.0.0.1:5000" {
		t.Errorf("flags: %+v", f)
	}
}

func TestListenSocket(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "cri.sock")
	// A stale socket from a crash (nobody listens on it) is replaced.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	lis, err := listen("unix://"+sock, "")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o660 || st.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want a 0660 socket", st.Mode())
	}

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := listen("unix://"+filepath.Join(open, "cri.sock"), ""); err == nil || !strings.Contains(err.Error(), "world-writable") {
		t.Errorf("world-writable directory: %v", err)
	}
	for _, bad := range []string{"tcp://127.0.0.1:1", "unix://relative.sock"} {
		if _, err := listen(bad, ""); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// The endpoint path is cleared only of a stale socket: a regular file
// there (a mistyped flag) is never deleted, and a socket another server
// listens on is not taken over.
func TestListenKeepsWhatIsNotAStaleSocket(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "important.conf")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if lis, err := listen("unix://"+file, ""); err == nil {
		lis.Close()
		t.Error("listened on the path of a regular file")
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Errorf("the regular file at the endpoint path: %q %v", b, err)
	}
	live := filepath.Join(dir, "live.sock")
	other, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if lis, err := listen("unix://"+live, ""); err == nil {
		lis.Close()
		t.Error("took over the socket of a live server")
	}
}

// Whoever can change the socket's directory, or one above it, can replace
// the socket: the directory must be root's (or the server's user's) and
// writable by nobody else; above it a sticky directory is fine.
func TestListenChecksDirectoryOwnership(t *testing.T) {
	base := t.TempDir()
	groupWritable := filepath.Join(base, "group")
	if err := os.Mkdir(groupWritable, 0o775); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(groupWritable, 0o775); err != nil {
		t.Fatal(err)
	}
	if _, err := listen("unix://"+filepath.Join(groupWritable, "cri.sock"), ""); err == nil || !strings.Contains(err.Error(), "group-writable") {
		t.Errorf("group-writable directory: %v", err)
	}
	sticky := filepath.Join(base, "sticky")
	if err := os.Mkdir(sticky, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	below := filepath.Join(sticky, "private")
	if err := os.Mkdir(below, 0o755); err != nil {
		t.Fatal(err)
	}
	lis, err := listen("unix://"+filepath.Join(below, "cri.sock"), "")
	if err != nil {
		t.Errorf("a private directory inside a sticky one: %v", err)
	} else {
		lis.Close()
	}
	if os.Geteuid() != 0 {
		t.Skip("the ownership cases need root (chown)")
	}
	for _, c := range []struct{ name, sockDir, chown string }{
		{"socket directory owned by another user", "owned/sock", "owned/sock"},
		{"directory above owned by another user", "above/sock", "above"},
	} {
		sockDir := filepath.Join(base, c.sockDir)
		if err := os.MkdirAll(sockDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(base, c.chown), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if lis, err := listen("unix://"+filepath.Join(sockDir, "cri.sock"), ""); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			if lis != nil {
				lis.Close()
			}
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
