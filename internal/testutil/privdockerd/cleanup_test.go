package privdockerd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A daemon is alive for another test's sweep while the process that made
// it runs, also before its dockerd answers or while it is down for a
// restart; one whose owner is gone is a leftover, also while a process it
// started (a shim, here a stand-in naming the exec root) still runs.
func TestAliveWhileOwnerRuns(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		owner int // 0: no owner file
		age   time.Duration
		shim  bool // a process naming the exec root runs
		want  bool
	}{
		"owner runs":               {owner: os.Getpid(), age: time.Hour, want: true},
		"owner gone":               {owner: dead.Process.Pid, age: time.Hour, want: false},
		"owner gone, shim runs":    {owner: dead.Process.Pid, age: time.Hour, shim: true, want: false},
		"no owner file, just made": {want: true},
		"no owner file, old":       {age: time.Hour, want: false},
		"no owner file, shim runs": {age: time.Hour, shim: true, want: true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			d := &Daemon{RunDir: dir, ExecRoot: filepath.Join(dir, "exec")}
			if tc.shim {
				// A shell waiting in a builtin: it forks nothing, so
				// no child shows its command line for a moment.
				shim := exec.Command("sh", "-c", "read x", filepath.Join(d.ExecRoot, "shim"))
				stdin, err := shim.StdinPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := shim.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { stdin.Close(); _ = shim.Process.Kill(); _ = shim.Wait() })
				if pids := d.execRootPids(); len(pids) != 1 || pids[0] != shim.Process.Pid {
					t.Fatalf("exec root pids %v, want [%d]", pids, shim.Process.Pid)
				}
			}
			if tc.owner != 0 {
				if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(tc.owner)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			old := time.Now().Add(-tc.age)
			if err := os.Chtimes(dir, old, old); err != nil {
				t.Fatal(err)
			}
			if got := d.alive(); got != tc.want {
				t.Errorf("alive = %v, want %v", got, tc.want)
			}
		})
	}
}
