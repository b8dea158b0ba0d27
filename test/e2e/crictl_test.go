package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// crictlPath finds crictl: $CRICTL, then PATH, then /tmp/gobin (where the
// critest harness installs it).
func crictlPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("CRICTL")} {
		if p != "" {
			return p
		}
	}
	if p, err := exec.LookPath("crictl"); err == nil {
		return p
	}
	if _, err := os.Stat("/tmp/gobin/crictl"); err == nil {
		return "/tmp/gobin/crictl"
	}
	t.Skip("crictl not found (set CRICTL, or run the critest harness's tools.sh)")
	return ""
}

// TestCrictl drives the server with crictl, as an operator would.
func TestCrictl(t *testing.T) {
	e := newEnv(t)
	bin := crictlPath(t)
	run := func(args ...string) string {
		t.Helper()
		ep := "unix://" + e.srv.socket
		cmd := exec.Command(bin, append([]string{"--runtime-endpoint", ep, "--image-endpoint", ep, "--timeout", "60s"}, args...)...)
		cmd.Env = append(os.Environ(), "CRI_CONFIG_FILE=/dev/null")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("crictl %v: %v\n%s%s", args, err, out, stderr.String())
		}
		return string(out)
	}
	if out := run("version"); !strings.Contains(out, "RuntimeApiVersion:  v1") {
		t.Errorf("crictl version:\n%s", out)
	}
	run("pull", e.busybox)
	dir := t.TempDir()
	pod := filepath.Join(dir, "pod.json")
	ctr := filepath.Join(dir, "ctr.json")
	write(t, pod, `{"metadata":{"name":"`+prefix+`-crictl","namespace":"`+prefix+`-ns","uid":"`+prefix+`-crictl-uid"},
		"labels":{"test":"`+prefix+`"},"log_directory":"`+filepath.Join(dir, "logs")+`","linux":{}}`)
	write(t, ctr, `{"metadata":{"name":"app"},"image":{"image":"`+e.busybox+`"},
		"command":["sh","-c","echo from-crictl; sleep 1000"],"log_path":"app.log","linux":{}}`)
	podID := strings.TrimSpace(run("runp", pod))
	ctrID := strings.TrimSpace(run("create", podID, ctr, pod))
	run("start", ctrID)
	if out := run("pods", "--id", podID, "-q"); strings.TrimSpace(out) != podID {
		t.Errorf("crictl pods --id: %q", out)
	}
	if out := run("ps", "--pod", podID, "--state", "running", "-q"); strings.TrimSpace(out) != ctrID {
		t.Errorf("crictl ps: %q", out)
	}
	waitFor(t, "crictl logs", func() bool {
		out, _ := exec.Command(bin, "--runtime-endpoint", "unix://"+e.srv.socket, "logs", ctrID).CombinedOutput()
		return strings.Contains(string(out), "from-crictl")
	})
	run("stopp", podID)
	run("rmp", podID)
	if out := run("pods", "-q", "--label", "test="+prefix); strings.TrimSpace(out) != "" {
		t.Errorf("pods left after rmp: %q", out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
