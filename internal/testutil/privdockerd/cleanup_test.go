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
// restart; one whose owner is gone (and that runs nothing) is a leftover.
func TestAliveWhileOwnerRuns(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		owner int // 0: no owner file
		age   time.Duration
		want  bool
	}{
		"owner runs":               {owner: os.Getpid(), age: time.Hour, want: true},
		"owner gone":               {owner: dead.Process.Pid, age: time.Hour, want: false},
		"no owner file, just made": {want: true},
		"no owner file, old":       {age: time.Hour, want: false},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			d := &Daemon{RunDir: dir, ExecRoot: filepath.Join(dir, "exec")}
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
