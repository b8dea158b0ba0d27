package crilog

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
)

// A symlink (or "..") in the part of a log path below the pod's log
// directory never leads the copier out of it: not when it opens the file,
// not when it trims a torn tail on resume, not when Reopen opens it anew.
func TestLogPathConfinedToLogDirectory(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	podDir := filepath.Join(base, "pod")
	for _, d := range []string{outside, podDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A victim file with a "torn" last line: a resume through the symlink
	// would truncate it.
	victim := filepath.Join(outside, "0.log")
	const victimData = "precious\nno newline"
	if err := os.WriteFile(victim, []byte(victimData), 0o644); err != nil {
		t.Fatal(err)
	}
	// app -> ../outside (relative), abs -> /…/outside (absolute).
	if err := os.Symlink("../outside", filepath.Join(podDir, "app")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(podDir, "abs")); err != nil {
		t.Fatal(err)
	}
	// A symlink that stays inside the pod's directory is fine.
	if err := os.MkdirAll(filepath.Join(podDir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(podDir, "inside")); err != nil {
		t.Fatal(err)
	}

	d := newFakeDocker()
	d.log(Stdout, "hello\n", false)
	ctx := context.Background()
	// (The fake knows one container, c1: a manager per start.)
	manager := func() *Manager {
		m := quickManager(d)
		t.Cleanup(m.Close)
		return m
	}
	for _, rel := range []string{"app/0.log", "abs/0.log", "app/new/0.log"} {
		err := manager().StartIn(ctx, "c1", podDir, filepath.Join(podDir, rel))
		if err == nil || errdefs.IsNotFound(err) {
			t.Errorf("%s: %v, want a refusal to follow a symlink out of the log directory", rel, err)
		}
		if _, err := loadResume(logFile{root: podDir, rel: rel}); err == nil {
			t.Errorf("%s: resume read through a symlink out of the log directory", rel)
		}
	}
	for _, p := range []string{"../outside/0.log", "/etc/0.log", filepath.Join(base, "pod2", "0.log")} {
		if err := manager().StartIn(ctx, "c1", podDir, p); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s: %v, want ErrInvalidArgument", p, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != victimData {
		t.Errorf("the file outside was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Error("a directory was created outside the log directory")
	}

	// Inside: through the inner symlink, and a final-component symlink to
	// the outside is replaced, not written through.
	final := filepath.Join(podDir, "real", "1.log")
	if err := os.Symlink(victim, final); err != nil {
		t.Fatal(err)
	}
	var started []*Manager
	for _, p := range []string{filepath.Join(podDir, "inside", "0.log"), final} {
		m := manager()
		if err := m.StartIn(ctx, "c1", podDir, p); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		started = append(started, m)
	}
	d.exit()
	for _, m := range started {
		if err := m.Drain(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(podDir, "real", "0.log"), final} {
		if recs := readRecords(t, p); len(recs) != 1 || string(recs[0].Content) != "hello" {
			t.Errorf("%s: records %v", p, recs)
		}
	}
	if fi, err := os.Lstat(final); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("%s is not a regular file now: %v", final, err)
	}
	if b, _ := os.ReadFile(victim); string(b) != victimData {
		t.Errorf("the file outside was changed: %q", b)
	}
}

// Reopen (kubelet rotation) opens the path anew, confined as well: a
// directory swapped for a symlink after Start is refused.
func TestReopenConfined(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	podDir := filepath.Join(base, "pod")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	d := newFakeDocker()
	m := quickManager(d)
	defer m.Close()
	ctx := context.Background()
	path := filepath.Join(podDir, "app", "0.log")
	if err := m.StartIn(ctx, "c1", podDir, path); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(podDir, "app")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(podDir, "app")); err != nil {
		t.Fatal(err)
	}
	if err := m.Reopen(ctx, "c1"); err == nil {
		t.Error("Reopen followed a symlink out of the log directory")
	}
	d.log(Stdout, "after\n", false)
	d.exit()
	_ = m.Drain(ctx, "c1")
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside: %v", entries)
	}
}
