package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/dockerlet/dockerlet/internal/pod/localimage"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

// Node is one dockerlet server and one standalone kubelet (no API server:
// static pods from ManifestDir), each with its own directories and ports.
type Node struct {
	Name        string // node name, the suffix of every static pod's name
	Dir         string
	ManifestDir string
	PodLogsDir  string
	KubeletRoot string
	KubeletLog  string
	CgroupRoot  string
	// CgroupDriver is Docker's (docker info), which the kubelet is given:
	// cgroupfs on this machine, systemd in the systemd test node
	// (NODE_CGROUP_DRIVER=systemd make node-e2e).
	CgroupDriver string
	// KubeletCgroupDriver is the kubelet configuration's: CgroupDriver
	// unless the run asks for the other one.
	KubeletCgroupDriver string
	Subnet              string // the CNI network's, in cni mode

	KubeletMinor int // 37 for v1.37.2
	// FeatureGates are the kubelet's: the run's own and NODE_FEATURE_GATES.
	FeatureGates map[string]bool

	Port, ReadOnlyPort, HealthzPort, MetricsPort int

	Serve       *serveproc.Server
	kubeletBin  string
	kubeletArgs []string
	kubelet     *exec.Cmd
	exited      chan struct{}
	http        *http.Client // the kubelet's HTTPS server (self-signed, anonymous)
}

// nodeOptions vary the kubelet between runs.
type nodeOptions struct {
	Run          string          // short name of the run: directories, cgroups
	FeatureGates map[string]bool // kubelet feature gates
	Verbosity    int             // kubelet -v
	CNI          bool            // dockerlet --network-plugin cni on a bridge of its own
	// KubeletCgroupDriver configures the kubelet with this driver instead
	// of Docker's.
	KubeletCgroupDriver string
}

// requireNode skips (or, with DOCKERLET_E2E=1, fails) when this machine
// cannot run a kubelet: it needs root, Docker and the kubelet binary.
func requireNode(t *testing.T) string {
	t.Helper()
	testutil.RequireDocker(t)
	skip := t.Skipf
	if os.Getenv(testutil.E2EEnv) == "1" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("node e2e needs root (the kubelet manages cgroups)")
	}
	bin := os.Getenv("KUBELET_BIN")
	if bin == "" {
		skip("node e2e needs KUBELET_BIN (make node-e2e builds and caches it: test/node/build-kubelet.sh)")
	}
	if _, err := os.Stat(bin); err != nil {
		skip("KUBELET_BIN: %v", err)
	}
	return bin
}

// startNode starts dockerlet and a kubelet for the test and registers their
// teardown: every pod is deleted and every container the server made is
// gone before it returns.
func startNode(t *testing.T, opts nodeOptions) *Node {
	t.Helper()
	kubeletBin := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cleanLeftovers(t)
	ensureImages(t, ctx)
	dir, err := os.MkdirTemp("", "dlnode-"+opts.Run+"-")
	if err != nil {
		t.Fatal(err)
	}
	lockRun(t, dir)
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	n := &Node{
		Name:        "dlnode-" + opts.Run,
		Dir:         dir,
		ManifestDir: filepath.Join(dir, "manifests"),
		PodLogsDir:  filepath.Join(dir, "pod-logs"),
		KubeletRoot: filepath.Join(dir, "kubelet"),
		KubeletLog:  filepath.Join(dir, "kubelet.log"),
		CgroupRoot:  "/" + filepath.Base(dir),
		http:        kubeletHTTPClient(),
	}
	n.CgroupDriver = dockerCgroupDriver(t, ctx)
	n.KubeletCgroupDriver = cmp.Or(opts.KubeletCgroupDriver, n.CgroupDriver)
	n.kubeletBin = kubeletBin
	n.KubeletMinor = kubeletMinor(t, kubeletBin)
	n.FeatureGates = featureGates(t, opts.FeatureGates)
	if n.cgroupDriverInUse() == "systemd" {
		// A machine of its own (test/systemd/node.sh): the production
		// layout, kubepods.slice at the top, one kubelet at a time.
		n.CgroupRoot = "/"
	}
	for _, d := range []string{n.ManifestDir, n.PodLogsDir, n.KubeletRoot} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	ports := freePorts(t, 4)
	n.Port, n.ReadOnlyPort, n.HealthzPort, n.MetricsPort = ports[0], ports[1], ports[2], ports[3]

	args := []string{"--metrics-bind-addr", "127.0.0.1:" + strconv.Itoa(n.MetricsPort)}
	if opts.CNI {
		args = append(args, n.cniNetwork(t)...)
	}
	n.Serve = serveproc.New(t, serveproc.Options{
		Dir:        filepath.Join(dir, "dockerlet"),
		PauseImage: localimage.Pause,
		Args:       args,
	})
	// Cleanups run last-registered first: the kubelet goes before dockerlet,
	// dockerlet before the leftovers sweep and the directories.
	t.Cleanup(func() { n.removeDir(t) })
	t.Cleanup(func() { n.removeCgroups(t) })
	t.Cleanup(func() { sweepContainers(t, n.Serve.Root) })
	if err := n.Serve.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Serve.Stop)
	t.Cleanup(func() { n.removeAllSandboxes(t) })

	restore := saveKernelTunables(t)
	t.Cleanup(restore)
	t.Cleanup(n.removeLogLinks(t))
	t.Cleanup(removeDevicePluginDir())
	if n.cgroupDriverInUse() != "systemd" {
		if err := makeCgroups(n.CgroupRoot); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "kubelet-config.yaml")
	if err := os.WriteFile(cfg, []byte(n.kubeletConfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	n.kubeletArgs = []string{
		"--config", cfg,
		"--root-dir", n.KubeletRoot,
		"--cert-dir", filepath.Join(n.Dir, "pki"), // default /var/lib/kubelet/pki
		"--hostname-override", n.Name,
		"--v", strconv.Itoa(max(opts.Verbosity, 2)),
	}
	if err := n.startKubelet(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.stopKubelet(t) })
	t.Cleanup(func() { n.deleteAllPods(t) })
	t.Logf("node %s: kubelet log %s, dockerlet log %s", n.Name, n.KubeletLog, n.Serve.LogPath)
	return n
}

// cgroupDriverInUse is the cgroup driver the kubelet runs with: Docker's
// when it takes the driver from RuntimeConfig, else its configuration's.
func (n *Node) cgroupDriverInUse() string {
	if n.takesCgroupDriverFromCRI() {
		return n.CgroupDriver
	}
	return n.KubeletCgroupDriver
}

// takesCgroupDriverFromCRI reports whether the kubelet asks RuntimeConfig
// for the cgroup driver: the KubeletCgroupDriverFromCRI gate, alpha in
// 1.28–1.30, on by default from 1.31 and locked on from 1.34.
func (n *Node) takesCgroupDriverFromCRI() bool {
	on, set := n.FeatureGates["KubeletCgroupDriverFromCRI"]
	switch {
	case n.KubeletMinor >= 34:
		return true
	case set:
		return on && n.KubeletMinor >= 28
	}
	return n.KubeletMinor >= 31
}

// featureGatesEnv gives every kubelet of the run more feature gates, as
// "Name=true,Other=false"; a test's own gates win over it.
const featureGatesEnv = "NODE_FEATURE_GATES"

// featureGates merges the test's gates over those of featureGatesEnv.
func featureGates(t *testing.T, own map[string]bool) map[string]bool {
	t.Helper()
	gates := map[string]bool{}
	for _, kv := range strings.Split(os.Getenv(featureGatesEnv), ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, val, ok := strings.Cut(kv, "=")
		on, err := strconv.ParseBool(val)
		if !ok || name == "" || err != nil {
			t.Fatalf("%s: %q is not Name=true or Name=false", featureGatesEnv, kv)
		}
		gates[name] = on
	}
	for k, v := range own {
		gates[k] = v
	}
	return gates
}

// kubeletMinor is the kubelet's minor version, from --version.
func kubeletMinor(t *testing.T, bin string) int {
	t.Helper()
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	// "Kubernetes v1.37.2"
	f := strings.Split(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(string(out), "Kubernetes")), "v"), ".")
	if len(f) < 2 {
		t.Fatalf("kubelet version %q", out)
	}
	minor, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("kubelet version %q: %v", out, err)
	}
	return minor
}

// ensureImages builds dockerlet.local/busybox and pause if Docker lacks them.
func ensureImages(t *testing.T, ctx context.Context) {
	t.Helper()
	loader, err := localimage.NewDockerLoader(testutil.DockerHost())
	if err != nil {
		t.Fatal(err)
	}
	defer loader.Close()
	b := &localimage.Builder{
		Loader: loader,
		Present: func(ctx context.Context, ref string) (bool, error) {
			_, err := loader.Client.ImageInspect(ctx, ref)
			if cerrdefs.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		},
	}
	for _, ref := range []string{localimage.Busybox, localimage.Pause} {
		if _, err := b.Ensure(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
}

func (n *Node) startKubelet(ctx context.Context) error {
	logf, err := os.OpenFile(n.KubeletLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(n.kubeletBin, n.kubeletArgs...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The kubelet must not outlive the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	n.kubelet, n.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(n.exited)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-n.exited:
			return fmt.Errorf("kubelet exited during start (%v); log %s:\n%s", cmd.ProcessState, n.KubeletLog, tailFile(n.KubeletLog, 40))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if _, err := n.roGet(ctx, "/pods"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kubelet not serving after 2m; log %s:\n%s", n.KubeletLog, tailFile(n.KubeletLog, 40))
		}
	}
}

func (n *Node) stopKubelet(t *testing.T) {
	if n.kubelet == nil {
		return
	}
	defer func() { n.kubelet = nil }()
	_ = n.kubelet.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		t.Logf("kubelet did not stop on SIGTERM in 30s; killing it")
		_ = n.kubelet.Process.Kill()
		<-n.exited
	}
}

// removeDir keeps the logs (next to the run's directory, for CI to collect)
// and removes the rest.
func (n *Node) removeDir(t *testing.T) {
	keep := os.Getenv("DLNODE_ARTIFACTS")
	if keep == "" {
		keep = filepath.Join(os.TempDir(), "dlnode-artifacts")
	}
	dst := filepath.Join(keep, filepath.Base(n.Dir))
	if err := os.MkdirAll(dst, 0o750); err == nil {
		for _, f := range []string{n.KubeletLog, n.Serve.LogPath, filepath.Join(n.Dir, "kubelet-config.yaml")} {
			if b, err := os.ReadFile(f); err == nil {
				_ = os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o600)
			}
		}
		t.Logf("node %s: logs kept in %s", n.Name, dst)
	}
	unmountUnder(n.Dir)
	if err := os.RemoveAll(n.Dir); err != nil {
		t.Logf("remove %s: %v", n.Dir, err)
	}
}

// legacyLogDir is where every kubelet links its containers' logs
// (hardcoded: /var/log/containers/<pod>_<namespace>_<container>-<id>.log).
const legacyLogDir = "/var/log/containers"

// removeLogLinks returns the teardown of the kubelet's links in
// legacyLogDir: this node's are removed, and the directory goes again if
// the run made it.
func (n *Node) removeLogLinks(t *testing.T) func() {
	_, err := os.Stat(legacyLogDir)
	existed := err == nil
	return func() {
		// The kubelet removes a link with its container, in its container
		// GC (once a minute); pods the teardown removed through the CRI
		// after the kubelet stopped leave theirs (testDelete checks the
		// kubelet's own removal).
		links, _ := filepath.Glob(filepath.Join(legacyLogDir, "*-"+n.Name+"_*"))
		for _, l := range links {
			_ = os.Remove(l)
		}
		if !existed {
			_ = os.Remove(legacyLogDir) // only if empty: others may use it now
		}
	}
}

// The kubelet's device-plugin socket lives at a fixed path, whatever its
// --root-dir: a run that made the directories removes them again.
const devicePluginDir = "/var/lib/kubelet/device-plugins"

func removeDevicePluginDir() func() {
	var made []string
	for _, d := range []string{devicePluginDir, filepath.Dir(devicePluginDir)} {
		if _, err := os.Stat(d); err != nil {
			made = append(made, d)
		}
	}
	return func() {
		for _, d := range made {
			if d == devicePluginDir {
				_ = os.Remove(filepath.Join(d, "kubelet.sock"))
			}
			_ = os.Remove(d) // only if empty
		}
	}
}

// unmountUnder lazily unmounts whatever the kubelet left mounted below dir.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

func freePorts(t *testing.T, k int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func tailFile(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

var errNotYet = errors.New("not yet")
