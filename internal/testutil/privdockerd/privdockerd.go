// Package privdockerd runs a private Docker daemon for one test, so that
// the test may restart (or kill) dockerd without touching the machine's
// shared one: its own data root, exec root, socket, pid file, managed
// containerd and bridge, no iptables rules of Docker's (one of its own lets
// the bridge's containers reach each other: forward.go), and a clean-up that
// removes all of it, mounts included.
package privdockerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/testutil"
)

// Options vary the daemon.
type Options struct {
	// LiveRestore keeps containers running across a restart.
	LiveRestore bool
	// Subnet of the daemon's bridge as gateway/prefix ("10.213.7.1/24");
	// default: a free 10.213.x.1/24.
	Subnet string
	// CgroupDriver is Docker's cgroup driver: "cgroupfs" (the default) or
	// "systemd" (needs systemd as PID 1 of the daemon's PID namespace;
	// test/systemd/node.sh makes one).
	CgroupDriver string
	// Args are extra dockerd flags.
	Args []string
	// Engine is "20.10" (the machine's dockerd) or "29" (the engine built
	// by test/engine/build-engine.sh); "" means DOCKERLET_ENGINE.
	Engine string
	// ImageStore is "graphdriver" or "containerd" (Docker 29 only); ""
	// means DOCKERLET_IMAGE_STORE.
	ImageStore string
}

// Daemon is one private dockerd, restartable.
type Daemon struct {
	// Host is the daemon's endpoint (unix:///run/dlrs-…/docker.sock).
	Host     string
	Name     string // dlrs<hex>: prefix of its dirs and its bridge's name
	DataRoot string
	ExecRoot string
	RunDir   string // holds the socket, pid file, config and log
	LogPath  string
	Bridge   string
	// Engine and ImageStore are what the daemon runs (resolved Options).
	Engine     string
	ImageStore string

	args  []string
	env   []string // dockerd's environment (PATH finds the engine's binaries)
	slice string   // the default parent's systemd slice (systemd driver), or ""

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int

	logf      func(format string, args ...any)
	dockerd   string // the dockerd binary
	closeOnce sync.Once
	closeErr  error
}

// Close stops the daemon and removes everything it made (also done by the
// test's clean-up).
func (d *Daemon) Close() error {
	d.closeOnce.Do(func() { d.closeErr = d.cleanup() })
	return d.closeErr
}

// Require skips the test unless it can run a private dockerd (root, the
// dockerd and ip binaries, the shared daemon answering as a sign that the
// machine runs Docker at all); with DOCKERLET_E2E=1 it fails instead.
func Require(t testing.TB) {
	t.Helper()
	testutil.RequireDocker(t)
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "needs root"
	default:
		bins := []string{"dockerd", "containerd", "ip"}
		if eng, _, err := engineOf(Options{}); err != nil {
			why = err.Error()
		} else if eng == Engine29 {
			bins = []string{"ip"}
			if _, err := EngineDir(); err != nil {
				why = "needs the Docker 29 build: " + err.Error()
			}
		}
		for _, bin := range bins {
			if _, err := exec.LookPath(bin); err != nil {
				why = "needs " + bin
			}
		}
	}
	if why == "" {
		return
	}
	if os.Getenv(testutil.E2EEnv) == "1" {
		t.Fatalf("private dockerd %s (DOCKERLET_E2E=1)", why)
	}
	t.Skipf("private dockerd %s", why)
}

// Start runs a private dockerd and registers its clean-up with t.
func Start(t testing.TB, opts Options) *Daemon {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	d, err := Launch(ctx, opts, t.Logf)
	if d != nil {
		t.Cleanup(func() {
			if err := d.Close(); err != nil {
				t.Errorf("privdockerd clean-up: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Launch runs a private dockerd (for programs; tests use Start). On error
// the returned daemon, if not nil, still needs its Close.
func Launch(ctx context.Context, opts Options, logf func(format string, args ...any)) (*Daemon, error) {
	sweep()
	eng, store, err := engineOf(opts)
	if err != nil {
		return nil, err
	}
	dockerd := "dockerd"
	env := os.Environ()
	if eng == Engine29 {
		dir, err := EngineDir()
		if err != nil {
			return nil, err
		}
		// dockerd starts containerd, containerd its shim, and the shim
		// runc, each found on PATH: the build's own first.
		dockerd = filepath.Join(dir, "dockerd")
		env = append(env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := "dlrs" + hex.EncodeToString(b[:])
	subnet := opts.Subnet
	if subnet == "" {
		if subnet, err = freeSubnet(); err != nil {
			return nil, err
		}
	}
	d := &Daemon{
		Name:       name,
		RunDir:     filepath.Join("/run", name),
		DataRoot:   filepath.Join("/var/lib", name),
		Bridge:     name,
		Engine:     eng,
		ImageStore: store,
		logf:       logf,
		dockerd:    dockerd,
		env:        env,
	}
	d.ExecRoot = filepath.Join(d.RunDir, "exec")
	d.LogPath = filepath.Join(d.RunDir, "dockerd.log")
	d.Host = "unix://" + filepath.Join(d.RunDir, "docker.sock")
	for _, dir := range []string{d.RunDir, d.DataRoot, d.ExecRoot} {
		if err := os.MkdirAll(dir, 0o710); err != nil {
			return d, err
		}
	}
	// Another process's sweep must see this daemon as alive from now on,
	// also while it starts or is down for a restart.
	if err := os.WriteFile(filepath.Join(d.RunDir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return d, err
	}
	cfg := filepath.Join(d.RunDir, "daemon.json")
	if err := os.WriteFile(cfg, []byte(daemonConfig(eng, store)), 0o600); err != nil {
		return d, err
	}
	for _, args := range [][]string{
		{"link", "add", d.Bridge, "type", "bridge"},
		{"addr", "add", subnet, "dev", d.Bridge},
		{"link", "set", d.Bridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return d, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	if err := allowForward(d.Bridge); err != nil {
		return d, err
	}
	// overlay2 is a graph driver; the containerd store names its
	// snapshotter instead.
	storage := "overlay2"
	if store == StoreContainerd {
		storage = "overlayfs"
	}
	// Containers without a parent of their own go under one named after
	// the daemon, where the clean-up finds what is left of them: a
	// directory for cgroupfs, a slice (a name, which systemd expands) for
	// the systemd driver.
	driver, parent := "cgroupfs", "/"+name
	if opts.CgroupDriver == "systemd" {
		driver, parent = "systemd", name+".slice"
		d.slice = parent
	}
	d.args = append([]string{
		"--config-file", cfg,
		"--data-root", d.DataRoot,
		"--exec-root", d.ExecRoot,
		"--pidfile", filepath.Join(d.RunDir, "docker.pid"),
		"-H", d.Host,
		"--bridge", d.Bridge,
		"--iptables=false", "--ip-masq=false", "--ip-forward=false",
		"--storage-driver", storage,
		"--exec-opt", "native.cgroupdriver=" + driver,
		"--cgroup-parent", parent,
	}, opts.Args...)
	if opts.LiveRestore {
		d.args = append(d.args, "--live-restore")
	}
	if err := d.start(ctx); err != nil {
		return d, err
	}
	return d, nil
}

// freeSubnet picks a 10.213.x.0/24 no interface of the host uses.
func freeSubnet() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	var b [1]byte
	_, _ = rand.Read(b[:])
	for i := range 256 {
		x := (int(b[0]) + i) % 256
		_, cand, _ := net.ParseCIDR(fmt.Sprintf("10.213.%d.0/24", x))
		used := false
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && (cand.Contains(ipn.IP) || ipn.Contains(cand.IP)) {
				used = true
			}
		}
		if !used {
			return fmt.Sprintf("10.213.%d.1/24", x), nil
		}
	}
	return "", fmt.Errorf("privdockerd: no free 10.213.x.0/24")
}

// start runs dockerd and waits until it answers /_ping.
func (d *Daemon) start(ctx context.Context) error {
	d.mu.Lock()
	if d.cmd != nil {
		d.mu.Unlock()
		return fmt.Errorf("privdockerd: already running")
	}
	logf, err := os.OpenFile(d.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.mu.Unlock()
		return err
	}
	d.starts++
	fmt.Fprintf(logf, "=== privdockerd start %d\n", d.starts)
	cmd := exec.Command(d.dockerd, d.args...)
	cmd.Env = d.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a ^C to the test does not reach it before the
	// clean-up does; and it dies with the test binary (its containerd is
	// found by pid file in clean-up).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		d.mu.Unlock()
		return err
	}
	exited := make(chan struct{})
	d.cmd, d.exited = cmd, exited
	d.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		logf.Close()
		d.mu.Lock()
		if d.cmd == cmd {
			d.cmd = nil
		}
		d.mu.Unlock()
		close(exited)
	}()
	return d.waitPing(ctx, exited)
}

func (d *Daemon) waitPing(ctx context.Context, exited chan struct{}) error {
	sock := strings.TrimPrefix(d.Host, "unix://")
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		}}}
	defer c.CloseIdleConnections()
	for {
		resp, err := c.Get("http://docker/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("privdockerd: dockerd exited during start; log: %s\n%s", d.LogPath, tail(d.LogPath))
		case <-ctx.Done():
			return fmt.Errorf("privdockerd: dockerd not answering: %w; log: %s\n%s", ctx.Err(), d.LogPath, tail(d.LogPath))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM and waits for dockerd to exit (SIGKILL after 60 s).
// Without live-restore dockerd stops every container first.
func (d *Daemon) Stop() {
	d.signal(syscall.SIGTERM, 60*time.Second)
}

func (d *Daemon) signal(sig syscall.Signal, grace time.Duration) {
	d.mu.Lock()
	cmd, exited := d.cmd, d.exited
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT) // a frozen daemon cannot act on SIGTERM
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-exited:
			return
		case <-time.After(grace):
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	<-exited
}

// Freeze stops dockerd's process (SIGSTOP): it keeps its socket and its
// connections but answers nothing, as a hung daemon does. Its containerd
// and containers go on. Thaw continues it; Stop, Kill and the clean-up
// thaw it first.
func (d *Daemon) Freeze() error { return d.sendSignal(syscall.SIGSTOP) }

// Thaw continues a frozen dockerd (SIGCONT).
func (d *Daemon) Thaw() error { return d.sendSignal(syscall.SIGCONT) }

func (d *Daemon) sendSignal(sig syscall.Signal) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return fmt.Errorf("privdockerd: not running")
	}
	return d.cmd.Process.Signal(sig)
}

// Running reports whether dockerd runs.
func (d *Daemon) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd != nil
}

// Restart stops dockerd with SIGTERM, waits for it to exit, pauses for
// down (the outage), and starts it again with the same flags.
func (d *Daemon) Restart(ctx context.Context, down time.Duration) error {
	d.Stop()
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return ctx.Err()
	}
	return d.Start(ctx)
}

// Start starts a stopped daemon again (after Stop or Kill).
func (d *Daemon) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return d.start(ctx)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
