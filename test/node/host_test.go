package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/testutil"
)

// The sysctls the kubelet sets at start (protectKernelDefaults: false makes
// it set them; true makes it refuse to start on a host that differs, as
// this one does). The machine is shared, so the test puts back what it found.
var kernelTunables = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

func saveKernelTunables(t *testing.T) (restore func()) {
	saved := map[string][]byte{}
	for _, k := range kernelTunables {
		if b, err := os.ReadFile("/proc/sys/" + k); err == nil {
			saved[k] = b
		}
	}
	persistTunables(saved)
	return func() {
		defer os.Remove(savedTunablesPath())
		for k, v := range saved {
			if cur, err := os.ReadFile("/proc/sys/" + k); err == nil && string(cur) == string(v) {
				continue
			}
			if err := os.WriteFile("/proc/sys/"+k, v, 0o644); err != nil {
				t.Logf("restore sysctl %s: %v", k, err)
			}
		}
	}
}

// cgroupHierarchies are the mounted cgroup v1 hierarchies, or the one v2 root.
func cgroupHierarchies() []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"}
	}
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	var out []string
	for _, e := range entries {
		p := filepath.Join("/sys/fs/cgroup", e.Name())
		if _, err := os.Stat(filepath.Join(p, "cgroup.procs")); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// makeCgroups creates the kubelet's cgroup root in every hierarchy (the
// kubelet refuses a root that does not exist).
func makeCgroups(root string) error {
	for _, h := range cgroupHierarchies() {
		if err := os.MkdirAll(filepath.Join(h, root), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// removeCgroups removes what the run's kubelet made of cgroups: with the
// systemd driver its slices, stopped through systemd (which owns them);
// with cgroupfs the run's cgroup root.
func (n *Node) removeCgroups(t *testing.T) {
	if n.cgroupDriverInUse() == "systemd" {
		if out, err := exec.Command("systemctl", "stop", "kubepods.slice").CombinedOutput(); err != nil {
			t.Logf("systemctl stop kubepods.slice: %v: %s", err, out)
		}
		return
	}
	removeCgroups(t, n.CgroupRoot)
}

// dockerCgroupDriver is the cgroup driver of the Docker daemon the tests
// use.
func dockerCgroupDriver(t *testing.T, ctx context.Context) string {
	t.Helper()
	info, err := dockerClient(t).Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Info.CgroupDriver == "" {
		return "cgroupfs"
	}
	return info.Info.CgroupDriver
}

// removeCgroups removes the cgroup tree root, deepest first (cgroupfs
// removes only empty directories, one at a time).
func removeCgroups(t *testing.T, root string) {
	for _, h := range cgroupHierarchies() {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(h, root), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			var err error
			for range 20 { // a cgroup whose last task just exited can be busy briefly
				if err = os.Remove(d); err == nil || os.IsNotExist(err) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil && !os.IsNotExist(err) {
				t.Logf("remove cgroup %s: %v", d, err)
			}
		}
	}
}

// dockerClient talks to the machine's dockerd directly, to check what the
// runtime left behind.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(client.FromEnv, client.WithHost(testutil.DockerHost()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serverContainers lists every container (any state) that the dockerlet
// server with this root directory made, optionally of one pod.
func serverContainers(ctx context.Context, c *client.Client, root, podName string) ([]string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	f := client.Filters{}
	f.Add("label", "io.dockerlet.managed=true", "io.dockerlet.root-dir="+abs)
	if podName != "" {
		f.Add("label", "io.dockerlet.pod.name="+podName)
	}
	r, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, it := range r.Items {
		names = append(names, strings.TrimPrefix(strings.Join(it.Names, ","), "/")+" "+it.ID[:12]+" "+string(it.State))
	}
	return names, nil
}

// sweepContainers is the safety net after the server stopped: whatever it
// made and did not remove is removed here, and the test says so.
func sweepContainers(t *testing.T, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := dockerClient(t)
	abs, _ := filepath.Abs(root)
	f := client.Filters{}
	f.Add("label", "io.dockerlet.managed=true", "io.dockerlet.root-dir="+abs)
	r, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Logf("sweep: %v", err)
		return
	}
	for _, it := range r.Items {
		t.Errorf("container %s %v left behind after teardown; removing it", it.ID[:12], it.Names)
		_, _ = c.ContainerRemove(ctx, it.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
}

// removeAllSandboxes stops and removes, through the CRI, every sandbox the
// kubelet did not remove itself (its container GC runs once a minute).
func (n *Node) removeAllSandboxes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := n.Serve.Dial()
	if err != nil {
		t.Logf("dial dockerlet: %v", err)
		return
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	resp, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Logf("ListPodSandbox: %v", err)
		return
	}
	for _, sb := range resp.Items {
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			t.Logf("StopPodSandbox %s: %v", sb.Id, err)
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			t.Logf("RemovePodSandbox %s: %v", sb.Id, err)
		}
	}
}
