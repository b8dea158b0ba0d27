package testutil

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestRegistryServesBusyboxToDocker proves the whole chain the integration
// tests rely on: build the image, push it, and have the real dockerd pull
// and run it — with basic auth.
func TestRegistryServesBusyboxToDocker(t *testing.T) {
	RequireDocker(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	reg := StartRegistry(t, WithBasicAuth("dltlead", "s3cret"))
	ref := reg.PushBusybox(t, "dltlead/busybox:1", ImageOptions{Marker: "dltlead-marker"})

	// Anonymous pull must be refused.
	if out, err := exec.Command("docker", "pull", ref).CombinedOutput(); err == nil {
		t.Fatalf("anonymous pull of %s succeeded: %s", ref, out)
	}
	cfg := t.TempDir()
	if out, err := exec.Command("docker", "--config", cfg, "login", "-u", "dltlead", "-p", "s3cret", reg.Host).CombinedOutput(); err != nil {
		t.Fatalf("login: %v: %s", err, out)
	}
	if out, err := exec.Command("docker", "--config", cfg, "pull", ref).CombinedOutput(); err != nil {
		t.Fatalf("pull: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", ref).Run() })
	out, err := exec.Command("docker", "run", "--rm", ref, "sh", "-c", "ls /dltlead-marker && echo hello").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello") {
		t.Fatalf("run: %v: %s", err, out)
	}
}

func TestShellFields(t *testing.T) {
	line := `-D POSTROUTING -s 10.70.0.5/32 -m comment --comment "name: \"dlt-abc\" id: \"f00\"" -j CNI-1234`
	want := []string{"-D", "POSTROUTING", "-s", "10.70.0.5/32", "-m", "comment", "--comment", `name: "dlt-abc" id: "f00"`, "-j", "CNI-1234"}
	if got := shellFields(line); !slices.Equal(got, want) {
		t.Fatalf("shellFields:\n got %q\nwant %q", got, want)
	}
}
