package node

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// A run killed before its teardown (a timeout, kill -9) leaves containers,
// cgroups, a bridge and changed sysctls behind. Each run holds a lock on
// its directory; the next run cleans up after every unlocked one.

const lockName = ".lock"

var cleanOnce sync.Once

// lockRun takes the run directory's lock for the life of the test binary.
func lockRun(t *testing.T, dir string) {
	f, err := os.Create(filepath.Join(dir, lockName))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}

// cleanLeftovers removes what killed runs left (once per test binary).
func cleanLeftovers(t *testing.T) {
	cleanOnce.Do(func() {
		restoreSavedTunables(t)
		dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "dlnode-*"))
		for _, d := range dirs {
			if filepath.Base(d) == "dlnode-artifacts" || !stale(d) {
				continue
			}
			t.Logf("cleaning up after a killed run: %s", d)
			cleanRun(t, d)
		}
	})
}

// stale reports whether dir is a run directory nobody holds.
func stale(dir string) bool {
	f, err := os.Open(filepath.Join(dir, lockName))
	if err != nil {
		return false // not a run directory
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

func cleanRun(t *testing.T, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := dockerClient(t)
	f := client.Filters{}
	f.Add("label", "io.dockerlet.managed=true", "io.dockerlet.root-dir="+filepath.Join(dir, "dockerlet", "root"))
	if r, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, it := range r.Items {
			_, _ = c.ContainerRemove(ctx, it.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cni")); err == nil {
		_ = exec.Command("ip", "link", "del", cniBridge).Run()
	}
	removeCgroups(t, "/"+filepath.Base(dir))
	run := strings.SplitN(strings.TrimPrefix(filepath.Base(dir), "dlnode-"), "-", 2)[0]
	links, _ := filepath.Glob(filepath.Join(legacyLogDir, "*-dlnode-"+run+"_*"))
	for _, l := range links {
		_ = os.Remove(l)
	}
	unmountUnder(dir)
	_ = os.RemoveAll(dir)
}

// The sysctl values found before the kubelet changed them, kept on disk
// until the run puts them back.
func savedTunablesPath() string {
	return filepath.Join(os.TempDir(), "dlnode-artifacts", "sysctls.json")
}

func persistTunables(saved map[string][]byte) {
	if _, err := os.Stat(savedTunablesPath()); err == nil {
		return // an earlier run's originals: keep those
	}
	m := map[string]string{}
	for k, v := range saved {
		m[k] = string(v)
	}
	b, _ := json.Marshal(m)
	_ = os.MkdirAll(filepath.Dir(savedTunablesPath()), 0o750)
	_ = os.WriteFile(savedTunablesPath(), b, 0o600)
}

func restoreSavedTunables(t *testing.T) {
	b, err := os.ReadFile(savedTunablesPath())
	if err != nil {
		return
	}
	var m map[string]string
	if json.Unmarshal(b, &m) == nil {
		for k, v := range m {
			if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0o644); err != nil {
				t.Logf("restore sysctl %s: %v", k, err)
			}
		}
	}
	_ = os.Remove(savedTunablesPath())
}
