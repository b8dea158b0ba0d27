package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const unitDir = "../../contrib/systemd"

// unitKeys reads a unit file's "section.Key" entries, values in order.
func unitKeys(t *testing.T, name string) map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(unitDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	return keys
}

// TestServeUnit pins what the shipped unit must say for a node's runtime
// to survive an operator's day: a reload or a dockerd restart never stops
// it, a restart loop never gives up, the OOM killer spares it.
func TestServeUnit(t *testing.T) {
	u := unitKeys(t, "dockerlet.service")
	want := map[string]string{
		"Unit.Wants":                 "network-online.target docker.service",
		"Unit.StartLimitIntervalSec": "0",
		"Unit.Requires":              "dockerlet.socket",
		"Service.Type":               "notify",
		"Service.OOMScoreAdjust":     "-999",
		"Service.Restart":            "always",
		"Service.KillMode":           "mixed",
	}
	for k, v := range want {
		if got := strings.Join(u[k], " "); got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	if !strings.Contains(strings.Join(u["Unit.After"], " "), "docker.service") {
		t.Errorf("After=%q: must order after docker.service", u["Unit.After"])
	}
	// Requires=docker.service would stop dockerlet with every dockerd
	// restart; ExecReload sent a SIGHUP that nothing reloads; LimitNOFILE
	// is Go's to raise (containerd's unit dropped it).
	for _, k := range []string{"Service.ExecReload", "Service.LimitNOFILE", "Service.StartLimitBurst", "Service.Delegate"} {
		if v, ok := u[k]; ok {
			t.Errorf("%s=%q: must not be set", k, v)
		}
	}
	if got := strings.Join(u["Service.ExecStart"], " "); !strings.Contains(got, "serve --container-runtime-endpoint fd:// $DOCKERLET_OPTS") {
		t.Errorf("ExecStart=%q: want fd:// and the environment file's $DOCKERLET_OPTS", got)
	}
}

// TestUnitsVerify runs systemd-analyze verify over the shipped units (with
// the binary's path pointed at an executable that exists here): unknown
// keys, bad values and missing dependencies are reported.
func TestUnitsVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	tru, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1)")
	}
	dir := t.TempDir()
	names := []string{"dockerlet.service", "dockerlet.socket", "dockerlet-play.service"}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(unitDir, n))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "/usr/local/bin/dockerlet", tru))
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(sa, "verify", "./dockerlet.service", "./dockerlet.socket", "./dockerlet-play.service")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	// Without systemd as PID 1 some checks cannot run; the unit files'
	// own problems are reported either way, and any output is one.
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
