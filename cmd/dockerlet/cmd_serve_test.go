package main

import (
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
	for _, bad := range [][]string{{"--registry-mirror", "nohost"}, {"--registry-mirror", "x=http://"}, {"extra"}} {
		if _, err := parseServeFlags(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func TestListenSocket(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "cri.sock")
	// A stale socket file from a crash is replaced.
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
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
