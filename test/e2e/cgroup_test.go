package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCgroupsOfDockersDriver runs a pod the way a kubelet on Docker's
// cgroup driver would (cgroupfs: a pod directory; systemd: the pod slice's
// path, as the kubelet sends it) and checks, on whichever driver the
// daemon uses: Docker puts the container where dockerlet looks for it
// (<parent>/<id>, or docker-<id>.scope in the pod's slice), its stats and
// metrics come from there, and UpdateContainerResources reaches that
// cgroup. `make test` runs it on cgroupfs, test/systemd/gotest.sh under a
// real systemd.
func TestCgroupsOfDockersDriver(t *testing.T) {
	e := newEnv(t) // with stats, as serve wires them
	ctx := testCtx(t)
	rc, err := e.rt.RuntimeConfig(ctx, &runtimeapi.RuntimeConfigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.eng.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	systemd := rc.GetLinux().GetCgroupDriver() == runtimeapi.CgroupDriver_SYSTEMD
	if systemd != (info.CgroupDriver == "systemd") {
		t.Fatalf("RuntimeConfig says %v, docker info %q", rc.GetLinux().GetCgroupDriver(), info.CgroupDriver)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	run := prefix + hex.EncodeToString(b[:])
	uid := run + "-uid"

	// The kubelet's pod cgroup, and the cgroup (relative to a hierarchy's
	// root) a container of the pod must end up in.
	var parent, podDir string
	if systemd {
		// kubepods-besteffort-pod<uid>.slice, dashes in the uid escaped.
		pod := run + "-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
		parent = "/" + run + ".slice/" + pod
		podDir = parent
		t.Cleanup(func() { _ = exec.Command("systemctl", "stop", run+".slice").Run() })
	} else {
		parent = "/" + run + "/pod" + uid
		podDir = parent
		t.Cleanup(func() { removeCgroupTree(t, "/"+run) })
	}
	cfg := e.sandboxConfig("cgroups")
	cfg.Metadata.Uid = uid
	cfg.Linux.CgroupParent = parent
	sb := e.runPod(ctx, cfg)
	id := e.runIn(ctx, sb, cfg, "burn", "sh", "-c", "x=$(head -c 4000000 /dev/zero | tr '\\0' a); while :; do :; done")
	ctrDir := podDir + "/" + id
	if systemd {
		ctrDir = podDir + "/docker-" + id + ".scope"
	}

	insp, err := e.eng.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := cgroupOf(t, insp.State.Pid); got != ctrDir {
		t.Fatalf("the container's memory cgroup is %s, want %s", got, ctrDir)
	}

	// Stats from that cgroup: CPU and memory of a busy container.
	eventually(t, "non-zero container stats", func() error {
		st, err := e.rt.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: id})
		if err != nil {
			return err
		}
		if st.Stats.GetCpu().GetUsageCoreNanoSeconds().GetValue() == 0 || st.Stats.GetMemory().GetWorkingSetBytes().GetValue() < 3e6 {
			return fmt.Errorf("cpu %v, memory %v", st.Stats.GetCpu(), st.Stats.GetMemory())
		}
		return nil
	})

	// A new limit lands in the container's own cgroup, and stats see it.
	const limit = 96 << 20
	if _, err := e.rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: id,
		Linux: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: limit, CpuPeriod: 100000, CpuQuota: 50000}}); err != nil {
		t.Fatal(err)
	}
	if got := memoryLimit(t, ctrDir); got != limit {
		t.Fatalf("memory limit in %s = %d, want %d", ctrDir, got, limit)
	}
	st, err := e.rt.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if avail := st.Stats.GetMemory().GetAvailableBytes().GetValue(); avail == 0 || avail >= limit {
		t.Errorf("available bytes %d after a %d limit", avail, limit)
	}

	// The pod's own cgroup: CPU and memory of everything in it.
	eventually(t, "non-zero pod stats", func() error {
		ps, err := e.rt.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: sb})
		if err != nil {
			return err
		}
		l := ps.Stats.GetLinux()
		if l.GetCpu().GetUsageCoreNanoSeconds().GetValue() == 0 || l.GetMemory().GetWorkingSetBytes().GetValue() < 3e6 || len(l.GetContainers()) != 1 {
			return fmt.Errorf("cpu %v, memory %v, %d containers", l.GetCpu(), l.GetMemory(), len(l.GetContainers()))
		}
		// The pause process and the container's shell, at least.
		if n := l.GetProcess().GetProcessCount().GetValue(); n < 2 {
			return fmt.Errorf("%d processes in the pod", n)
		}
		return nil
	})
	m, err := e.rt.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pm := range m.PodMetrics {
		for _, cm := range pm.ContainerMetrics {
			for _, x := range cm.Metrics {
				if cm.ContainerId == id && x.Name == "container_spec_memory_limit_bytes" {
					found = true
					if x.GetValue().GetValue() != limit {
						t.Errorf("container_spec_memory_limit_bytes = %d, want %d", x.GetValue().GetValue(), limit)
					}
				}
			}
		}
	}
	if !found {
		t.Error("no container_spec_memory_limit_bytes for the container")
	}
}

// cgroupOf is pid's memory cgroup (cgroup v1) or its v2 cgroup.
func cgroupOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	v2 := ""
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[1] == "memory" {
			return f[2]
		}
		if f[0] == "0" && f[1] == "" {
			v2 = f[2]
		}
	}
	return v2
}

// memoryLimit reads the memory limit of the cgroup rel.
func memoryLimit(t *testing.T, rel string) uint64 {
	t.Helper()
	file := filepath.Join("/sys/fs/cgroup/memory", rel, "memory.limit_in_bytes")
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		file = filepath.Join("/sys/fs/cgroup", rel, "memory.max")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// removeCgroupTree removes the cgroupfs directories rel in every
// hierarchy, deepest first, once the containers in them are gone.
func removeCgroupTree(t *testing.T, rel string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*" + rel)
	if _, err := os.Stat("/sys/fs/cgroup" + rel); err == nil {
		roots = append(roots, "/sys/fs/cgroup"+rel)
	}
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			for try := 0; try < 20; try++ {
				if err := os.Remove(dirs[i]); err == nil || os.IsNotExist(err) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}
