package network

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes name in dir and pushes its mtime forward so that a
// rewrite within the same clock tick is still seen as a change.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Duration(len(content)) * time.Second)
	if err := os.Chtimes(p, future, future); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeBinDir holds empty executables named like plugins (enough for
// discovery, which only looks them up).
func fakeBinDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	confA = `{"cniVersion":"1.0.0","name":"neta","plugins":[{"type":"bridge"},{"type":"portmap","capabilities":{"portMappings":true}}]}`
	confB = `{"cniVersion":"0.4.0","name":"netb","type":"bridge"}`
)

func TestConfDiscovery(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		wantNet  string
		wantErr  string // substring of the NotReadyError message
		wantPlgs []string
	}{
		{name: "empty dir", wantErr: msgUninitialized},
		{name: "conflist", files: map[string]string{"10-a.conflist": confA}, wantNet: "neta", wantPlgs: []string{"bridge", "portmap"}},
		{name: "single conf becomes a list", files: map[string]string{"10-b.conf": confB}, wantNet: "netb", wantPlgs: []string{"bridge"}},
		{name: "json extension", files: map[string]string{"10-b.json": confB}, wantNet: "netb"},
		{name: "first by name wins", files: map[string]string{"20-a.conflist": confA, "10-b.conf": confB}, wantNet: "netb"},
		{name: "invalid first is skipped", files: map[string]string{"00-bad.conflist": "{not json", "10-a.conflist": confA}, wantNet: "neta"},
		{name: "list without plugins is skipped", files: map[string]string{"00-empty.conflist": `{"cniVersion":"1.0.0","name":"e","plugins":[]}`, "10-b.conf": confB}, wantNet: "netb"},
		{name: "other extensions ignored", files: map[string]string{"README": "x", "a.conflist.bak": confA}, wantErr: msgUninitialized},
		{name: "only invalid", files: map[string]string{"00-bad.conf": `{"name":"x"}`}, wantErr: "no valid cni network config"},
		{name: "plugin binary missing", files: map[string]string{"10-x.conflist": `{"cniVersion":"1.0.0","name":"x","plugins":[{"type":"flannel"}]}`}, wantErr: `"flannel"`},
	}
	bin := fakeBinDir(t, "bridge", "portmap", "loopback")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tt.files {
				writeFile(t, dir, n, c)
			}
			src := &confSource{dir: dir, binDirs: []string{bin}, log: discardLogger()}
			list, err := src.network()
			if tt.wantErr != "" {
				var nr *NotReadyError
				if !errors.As(err, &nr) || nr.Reason != ReasonNotReady || !strings.Contains(nr.Message, tt.wantErr) {
					t.Fatalf("err = %v, want NotReadyError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if list.Name != tt.wantNet {
				t.Errorf("network = %q, want %q", list.Name, tt.wantNet)
			}
			if tt.wantPlgs != nil && strings.Join(pluginTypes(list), ",") != strings.Join(tt.wantPlgs, ",") {
				t.Errorf("plugins = %v, want %v", pluginTypes(list), tt.wantPlgs)
			}
		})
	}
}

func TestConfMissingDirIsUninitialized(t *testing.T) {
	src := &confSource{dir: filepath.Join(t.TempDir(), "nope"), binDirs: []string{t.TempDir()}, log: discardLogger()}
	if _, err := src.network(); err == nil || !strings.Contains(err.Error(), msgUninitialized) {
		t.Fatalf("err = %v", err)
	}
}

// Status follows the conf dir: not ready → ready when a config appears →
// a changed config is reloaded → not ready again when it goes away, and a
// plugin installed late turns the node ready.
func TestCNIStatusTransitions(t *testing.T) {
	bin := t.TempDir()
	conf := t.TempDir()
	p, err := newCNI(Config{Plugin: PluginCNI, CNIBinDirs: []string{bin}, CNIConfDir: conf, CNICacheDir: t.TempDir(), CNINetNSDir: t.TempDir(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Status()
	if err == nil || err.Error() != "NetworkPluginNotReady: cni config uninitialized" {
		t.Fatalf("empty dir: Status = %v", err)
	}

	f := writeFile(t, conf, "10-a.conflist", confA)
	if err := p.Status(); err == nil || !strings.Contains(err.Error(), `"bridge"`) {
		t.Fatalf("config without binaries: Status = %v, want missing plugin", err)
	}
	for _, n := range []string{"bridge", "portmap", "loopback"} {
		if err := os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Status(); err != nil {
		t.Fatalf("config + binaries: Status = %v", err)
	}
	if l, _ := p.conf.network(); l.Name != "neta" {
		t.Fatalf("network = %q", l.Name)
	}

	writeFile(t, conf, "10-a.conflist", strings.Replace(confA, `"neta"`, `"netc"`, 1)+" ")
	if l, err := p.conf.network(); err != nil || l.Name != "netc" {
		t.Fatalf("after rewrite: network = %v, %v; want netc", l, err)
	}

	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	if err := p.Status(); err == nil || !strings.Contains(err.Error(), msgUninitialized) {
		t.Fatalf("config removed: Status = %v", err)
	}
}
