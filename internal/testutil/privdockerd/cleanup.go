package privdockerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/sys/mountinfo"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// cleanup removes everything the daemon made: containers (through its API
// while it runs), dockerd, its containerd and shims, processes left in its
// cgroup parent, mounts under its directories (an overlay left mounted makes
// the data root impossible to remove), the directories, the bridge and its forwarding rule.
func (d *Daemon) cleanup() error {
	var errs []error
	_ = d.Thaw() // a test that froze it may have failed before thawing
	if d.Running() {
		// Not fatal: what Docker cannot remove (a root filesystem it left
		// mounted) goes with the unmount and the directories below.
		if err := d.removeContainers(); err != nil && d.logf != nil {
			d.logf("privdockerd clean-up: %v", err)
		}
	}
	d.Stop()
	d.killLeftovers()
	errs = append(errs, d.unmountAll())
	d.removeCgroups()
	for _, dir := range []string{d.RunDir, d.DataRoot} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if d.Bridge != "" {
		removeForward(d.Bridge)
		if out, err := exec.Command("ip", "link", "del", d.Bridge).CombinedOutput(); err != nil &&
			!strings.Contains(string(out), "Cannot find device") {
			errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", d.Bridge, err, out))
		}
	}
	return errors.Join(errs...)
}

func (d *Daemon) removeContainers() error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	eng, err := engine.Connect(d.Host, engine.Options{})
	if err != nil {
		return err
	}
	defer eng.Close()
	list, err := eng.ListContainers(ctx, engine.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("list containers of %s: %w", d.Name, err)
	}
	var errs []error
	for _, c := range list {
		if err := eng.RemoveContainer(ctx, c.ID, engine.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil &&
			!errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killLeftovers ends an orphaned dockerd (its pid file), the managed
// containerd and shims (their command lines name the exec root) and any
// process in the daemon's cgroup parent.
func (d *Daemon) killLeftovers() {
	for range 3 {
		pids := append(d.cgroupPids(), d.execRootPids()...)
		if pid := d.dockerdPid(); pid > 0 {
			pids = append(pids, pid)
		}
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (d *Daemon) execRootPids() []int {
	if d.ExecRoot == "" {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), d.ExecRoot+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cgroupDirs are the daemon's cgroup parent in every mounted hierarchy
// (dlrs<hex> for cgroupfs, dlrs<hex>.slice for systemd).
func (d *Daemon) cgroupDirs() []string {
	if d.Name == "" {
		return nil
	}
	var dirs []string
	for _, name := range []string{d.Name, d.Name + ".slice"} {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", name))
		dirs = append(dirs, m...)
		if st, err := os.Stat(filepath.Join("/sys/fs/cgroup", name)); err == nil && st.IsDir() {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", name)) // cgroup v2
		}
	}
	return dirs
}

func (d *Daemon) cgroupPids() []int {
	var pids []int
	for _, root := range d.cgroupDirs() {
		_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

func (d *Daemon) removeCgroups() {
	if d.slice != "" {
		// systemd made the slice: it is stopped there, not taken from
		// under it.
		_ = exec.Command("systemctl", "stop", d.slice).Run()
	}
	for _, root := range d.cgroupDirs() {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- { // children first
			_ = syscall.Rmdir(dirs[i])
		}
	}
}

// unmountAll detaches every mount point under the daemon's directories,
// deepest first.
func (d *Daemon) unmountAll() error {
	var roots []string
	for _, r := range []string{d.DataRoot, d.RunDir} {
		if r != "" {
			roots = append(roots, r)
		}
	}
	points, err := mountsUnder(roots)
	if err != nil {
		return err
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// Mounts lists the mount points under the daemon's directories (tests
// check that clean-up leaves none).
func (d *Daemon) Mounts() ([]string, error) {
	return mountsUnder([]string{d.DataRoot, d.RunDir})
}

func mountsUnder(roots []string) ([]string, error) {
	ms, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		for _, r := range roots {
			if m.Mountpoint == r || strings.HasPrefix(m.Mountpoint, r+"/") {
				return false, false
			}
		}
		return true, false
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	return out, nil
}

// sweep cleans up after private daemons of earlier test binaries that died
// without their clean-up (a panic, a test timeout, a kill): any dlrs<hex>
// run or data directory that is not alive, its orphaned processes ended.
func sweep() {
	seen := map[string]bool{}
	for _, pattern := range []string{"/run/dlrs*", "/var/lib/dlrs*"} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			name := filepath.Base(m)
			if seen[name] || len(name) != len("dlrs")+6 {
				continue
			}
			seen[name] = true
			d := &Daemon{Name: name, RunDir: filepath.Join("/run", name), DataRoot: filepath.Join("/var/lib", name), Bridge: name}
			d.ExecRoot = filepath.Join(d.RunDir, "exec")
			if d.alive() {
				continue
			}
			_ = d.cleanup()
		}
	}
}

// ownerFile in the run directory holds the pid of the process that made
// the daemon.
const ownerFile = "owner.pid"

// alive reports whether the daemon belongs to a live test: while the
// process that made it runs, another test's sweep leaves it alone. Once
// that process is gone, a dockerd, containerd or shim still running (a
// killed test binary does not take its children with it) is an orphan
// nobody else will stop, and the sweep ends it.
func (d *Daemon) alive() bool {
	if b, err := os.ReadFile(filepath.Join(d.RunDir, ownerFile)); err == nil {
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0 && syscall.Kill(pid, 0) == nil
	}
	if st, err := os.Stat(d.RunDir); err == nil && time.Since(st.ModTime()) < time.Minute {
		return true // made a moment ago, its owner file not written yet
	}
	return d.dockerdPid() > 0 || len(d.execRootPids()) > 0
}

// dockerdPid is the daemon's dockerd by its pid file, if that process
// still runs and names the daemon's run directory; 0 otherwise.
func (d *Daemon) dockerdPid() int {
	b, err := os.ReadFile(filepath.Join(d.RunDir, "docker.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cmd), d.RunDir) {
		return pid
	}
	return 0
}

// LiveCgroups returns the container ids that have processes in the
// daemon's cgroup parent (the pids hierarchy on cgroup v1), with their
// process counts: a test compares them with what Docker lists to find
// tasks Docker lost track of.
func (d *Daemon) LiveCgroups() map[string]int {
	out := map[string]int{}
	for _, root := range d.cgroupDirs() {
		if filepath.Base(filepath.Dir(root)) != "pids" && filepath.Dir(root) != "/sys/fs/cgroup" {
			continue
		}
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			b, _ := os.ReadFile(filepath.Join(root, e.Name(), "cgroup.procs"))
			if n := len(strings.Fields(string(b))); n > 0 {
				out[e.Name()] = n
			}
		}
	}
	return out
}
