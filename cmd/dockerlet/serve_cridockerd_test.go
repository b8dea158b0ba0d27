package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// criDockerdCommandLine is a cri-dockerd v0.4.3 service's command line
// with every flag it has (cri-dockerd --help), values as an operator sets
// them.
var criDockerdCommandLine = []string{
	"--container-runtime-endpoint", "fd://",
	"--docker-endpoint", "unix:///var/run/docker.sock",
	"--cri-dockerd-root-directory", "/var/lib/cri-dockerd",
	"--pod-infra-container-image", "registry.k8s.io/pause:3.10",
	"--image-pull-progress-deadline", "1m0s",
	"--runtime-request-timeout", "2m0s",
	"--streaming-bind-addr", "127.0.0.1:0",
	"--pod-cidr", "10.244.0.0/16",
	"--ipv6-dual-stack=false",
	"--cni-conf-dir", "/etc/cni/net.d",
	"--cni-bin-dir", "/opt/cni/bin",
	"--cni-cache-dir", "/var/lib/cni/cache",
	"--network-plugin-mtu", "1450",
	"--hairpin-mode", "hairpin-veth",
	"--runtime-cgroups", "/system.slice/cri-docker.service",
	"--log-level", "warning",
}

func TestCRIDockerdCommandLine(t *testing.T) {
	f, err := parseServeFlags(criDockerdCommandLine)
	if err != nil {
		t.Fatalf("cri-dockerd's command line refused: %v", err)
	}
	if f.networkPlugin != "cni" || f.networkWhy == "" {
		t.Errorf("network plugin %q (why %q), want cni as cri-dockerd's default", f.networkPlugin, f.networkWhy)
	}
	var b bytes.Buffer
	f.criDockerd.warn(slog.New(slog.NewTextHandler(&b, nil)))
	for name := range criDockerdOnly {
		if n := strings.Count(b.String(), "--"+name+" accepted and ignored"); n != 1 {
			t.Errorf("--%s: %d warnings, want 1:\n%s", name, n, b.String())
		}
	}
	if f.cniConfDir != "/etc/cni/net.d" || f.podInfraImage != "registry.k8s.io/pause:3.10" {
		t.Errorf("shared flags not honoured: %+v", f)
	}
}

func TestDefaultNetworkPlugin(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "docker"},
		{[]string{"--pod-infra-container-image", "p"}, "docker"},
		{[]string{"--cni-conf-dir", "/etc/cni/net.d"}, "cni"},
		{[]string{"--cri-dockerd-root-directory", "/var/lib/cri-dockerd"}, "cni"},
		{[]string{"--hairpin-mode", "none"}, "cni"},
		// Given, it is what it says.
		{[]string{"--cri-dockerd-root-directory", "/x", "--network-plugin", "docker"}, "docker"},
		{[]string{"--network-plugin", "cni"}, "cni"},
	} {
		f, err := parseServeFlags(tc.args)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if f.networkPlugin != tc.want {
			t.Errorf("%v: network plugin %q, want %q", tc.args, f.networkPlugin, tc.want)
		}
	}
	if _, err := parseServeFlags([]string{"--hairpin-mode", "sideways"}); err == nil {
		t.Error("--hairpin-mode sideways accepted (cri-dockerd refuses it)")
	}
}

func TestServeVersionFlag(t *testing.T) {
	for _, flag := range []string{"--version", "--buildinfo"} {
		out, errOut, code := dockerlet(t, "serve", flag)
		if code != 0 || !strings.HasPrefix(out, "dockerlet: ") {
			t.Errorf("serve %s: exit %d\nstdout: %s\nstderr: %s", flag, code, out, errOut)
		}
	}
}

func TestAdoptCRIDockerdFlags(t *testing.T) {
	f, err := parseServeFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.criDockerd.adopt || f.criDockerd.rootDir != "/var/lib/cri-dockerd" {
		t.Errorf("defaults: adopt %v from %q, want no adoption, cri-dockerd's default directory", f.criDockerd.adopt, f.criDockerd.rootDir)
	}
	root := t.TempDir()
	f, err = parseServeFlags(append(slices.Clone(criDockerdCommandLine), "--adopt-cri-dockerd", "--cri-dockerd-root-directory", root))
	if err != nil {
		t.Fatal(err)
	}
	if !f.criDockerd.adopt || f.criDockerd.rootDir != root || f.networkPlugin != "cni" {
		t.Errorf("adopt %v from %q, network %q", f.criDockerd.adopt, f.criDockerd.rootDir, f.networkPlugin)
	}

	// Not adopting while cri-dockerd's checkpoints are there is worth a
	// warning; adopting, or nothing there, is not.
	warned := func(adopt bool) bool {
		var b bytes.Buffer
		c := criDockerdFlags{rootDir: root, adopt: adopt}
		c.warnUnadopted(slog.New(slog.NewTextHandler(&b, nil)))
		return strings.Contains(b.String(), "--adopt-cri-dockerd")
	}
	if warned(false) {
		t.Error("warned with no checkpoint")
	}
	if err := os.MkdirAll(filepath.Join(root, "sandbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sandbox", strings.Repeat("a", 64)), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !warned(false) || warned(true) {
		t.Errorf("warnings: without adoption %v, with %v; want true, false", warned(false), warned(true))
	}
}
