package cri

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A localhost seccomp profile that is a device, a FIFO or huge is refused
// without reading it (os.ReadFile would hang on a FIFO and never end on
// /dev/zero).
func TestLocalhostSeccompRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, maxSeccompProfile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"defaultAction":"SCMP_ACT_ALLOW"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/zero", fifo, big, dir, filepath.Join(dir, "missing")} {
		if _, err := localhostSeccomp(p); code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", p, err)
		}
	}
	opts, err := localhostSeccomp(good)
	if err != nil || len(opts) != 1 || !strings.Contains(opts[0], "SCMP_ACT_ALLOW") {
		t.Errorf("regular profile: %v %v", opts, err)
	}
}

// The debug log of a CreateContainer request carries env names, never
// their values (they come from Secrets).
func TestCompactRequestRedactsEnv(t *testing.T) {
	req := &runtimeapi.CreateContainerRequest{PodSandboxId: "x", Config: containerConfig("c")}
	req.Config.Envs = []*runtimeapi.KeyValue{{Key: "DB_PASSWORD", Value: []byte("hunter2-secret")}}
	got := fmt.Sprint(compactRequest(req))
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "DB_PASSWORD") {
		t.Errorf("logged %s", got)
	}
	if string(req.Config.Envs[0].Value) != "hunter2-secret" {
		t.Error("compactRequest changed the request itself")
	}
}

// Command and arguments arrive with $(VAR) references already expanded
// (by the kubelet, or play), so a Secret's value can be in them: the debug
// log has neither.
func TestCompactRequestRedactsCommandAndArgs(t *testing.T) {
	req := &runtimeapi.CreateContainerRequest{PodSandboxId: "x", Config: containerConfig("c")}
	req.Config.Command = []string{"sh", "-c", "login --password=hunter2-secret"}
	req.Config.Args = []string{"--token", "hunter3-secret"}
	got := fmt.Sprint(compactRequest(req))
	if strings.Contains(got, "hunter2") || strings.Contains(got, "hunter3") || !strings.Contains(got, "<redacted>") {
		t.Errorf("logged %s", got)
	}
	if req.Config.Command[2] != "login --password=hunter2-secret" || req.Config.Args[1] != "hunter3-secret" {
		t.Error("compactRequest changed the request itself")
	}
}

// The CRI's "auth" field (base64 user:password) reaches Docker as a user
// and password: Docker's daemon does not decode it.
func TestAuthConfigDecodesAuth(t *testing.T) {
	a := authConfig(&runtimeapi.AuthConfig{Auth: "dXNlcjpwYTpzcw==", ServerAddress: "r"})
	if a.Username != "user" || a.Password != "pa:ss" {
		t.Errorf("decoded %q/%q", a.Username, a.Password)
	}
	b := authConfig(&runtimeapi.AuthConfig{Auth: "not base64!", Username: "", ServerAddress: "r"})
	if b.Username != "" || b.Auth != "not base64!" {
		t.Errorf("undecodable auth: %+v", b)
	}
}
