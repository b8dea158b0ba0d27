package stats

import (
	"context"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The cgroup v2 layout of Docker's systemd driver under a systemd kubelet
// (testdata/cgroup2-systemd, README there: what was captured and what is
// written from the kernel's documented format).
const (
	v2Root = "testdata/cgroup2-systemd"

	bePod       = "kubepods-besteffort-pod48025c724a7d7197d2ca650635381d04.slice"
	bePodPath   = "/kubepods.slice/kubepods-besteffort.slice/" + bePod
	beSandbox   = "e8a261027092ba2504a07a0c1b479e8b9cd7561465d567abe0ebd654d5d4ba24"
	beContainer = "df89aed70f16b34a6f10c5667a13e888b7f38d1e5b3f25c861f2911faf6cf061"

	buPod       = "kubepods-burstable-pod2c8a9d3e_5b1f_4c7a_8e2d_9f6b3a1c0d47.slice"
	buSandbox   = "5d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817065f4e"
	buContainer = "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b"

	sysContainer = "3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e"
)

// newV2SystemdCollector reads testdata through the hierarchy a v2 host's
// mountinfo names, with an empty /proc: a path dockerlet did not predict
// finds no fallback there, so every reading below comes from the path
// computed from the driver and the parent.
func newV2SystemdCollector(t *testing.T) *Collector {
	t.Helper()
	const mounts = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
	cg, err := parseMountinfo(strings.NewReader(mounts))
	if err != nil {
		t.Fatal(err)
	}
	v2, ok := cg.(*cgroupV2)
	if !ok || v2.root != "/sys/fs/cgroup" {
		t.Fatalf("a v2 host's mounts gave %#v", cg)
	}
	v2.root = v2Root
	c := newCollector("systemd", t.TempDir(), t.TempDir(), v2, nil)
	t.Cleanup(c.Close)
	return c
}

func TestV2SystemdContainerStats(t *testing.T) {
	c := newV2SystemdCollector(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, id, parent, path string
		cpuNs, ws, rss, avail  uint64 // avail 0: no limit
	}{
		{"besteffort", beContainer, bePod, bePodPath + "/docker-" + beContainer + ".scope", 215466000, 1224704 - 65536, 253952, 0},
		{"burstable", buContainer, buPod, "/kubepods.slice/kubepods-burstable.slice/" + buPod + "/docker-" + buContainer + ".scope",
			9405324000, 66383872 - 65536, 65499136, 67108864 - (66383872 - 65536)},
		{"docker's default parent", sysContainer, "", "/system.slice/docker-" + sysContainer + ".scope", 4512000, 438272 - 262144, 65536, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := c.ContainerStats(ctx, ContainerRef{ID: tc.id, Pid: 1, CgroupParent: tc.parent})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.paths[tc.id]; got != tc.path {
				t.Errorf("resolved %s, want %s", got, tc.path)
			}
			m := st.GetMemory()
			if got := st.GetCpu().GetUsageCoreNanoSeconds().GetValue(); got != tc.cpuNs {
				t.Errorf("cpu %d ns, want %d", got, tc.cpuNs)
			}
			if m.GetWorkingSetBytes().GetValue() != tc.ws || m.GetRssBytes().GetValue() != tc.rss {
				t.Errorf("working set %d rss %d, want %d %d", m.GetWorkingSetBytes().GetValue(), m.GetRssBytes().GetValue(), tc.ws, tc.rss)
			}
			if tc.avail == 0 && m.AvailableBytes != nil || tc.avail != 0 && m.GetAvailableBytes().GetValue() != tc.avail {
				t.Errorf("available %v, want %d", m.AvailableBytes, tc.avail)
			}
		})
	}
}

// The pod slice's own files give the pod's CPU and memory; its processes
// are in the scopes (the slice's cgroup.procs is empty, as captured).
func TestV2SystemdPodSandboxStats(t *testing.T) {
	c := newV2SystemdCollector(t)
	ref := SandboxRef{
		ID: beSandbox, Pid: 23257, CgroupParent: bePod,
		Attributes: &runtimeapi.PodSandboxAttributes{Id: beSandbox},
		Containers: []ContainerRef{{ID: beContainer, Pid: 26615, CgroupParent: bePod}},
	}
	st, err := c.PodSandboxStats(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	l := st.GetLinux()
	if got := l.GetCpu().GetUsageCoreNanoSeconds().GetValue(); got != 287255000 {
		t.Errorf("pod cpu %d ns, want the slice's 287255000", got)
	}
	if got := l.GetMemory().GetWorkingSetBytes().GetValue(); got != 2256896-262144 {
		t.Errorf("pod working set %d, want the slice's %d", got, 2256896-262144)
	}
	if got := l.GetProcess().GetProcessCount().GetValue(); got != 3 {
		t.Errorf("%d processes, want 3 (2 in the sandbox's scope, 1 in the container's)", got)
	}
	if len(l.GetContainers()) != 1 || l.Containers[0].GetCpu().GetUsageCoreNanoSeconds().GetValue() != 215466000 {
		t.Errorf("container stats %v", l.GetContainers())
	}
}

// Every controller file of a container with limits: what the metrics
// report from cpu.max, cpu.weight, cpu.stat, memory.events, memory.peak,
// pids.* and io.stat.
func TestV2SystemdMetrics(t *testing.T) {
	c := newV2SystemdCollector(t)
	ref := SandboxRef{
		ID: buSandbox, Pid: 31005, CgroupParent: buPod,
		Attributes: &runtimeapi.PodSandboxAttributes{Id: buSandbox, Metadata: &runtimeapi.PodSandboxMetadata{Name: "web"}},
		Containers: []ContainerRef{{ID: buContainer, Pid: 31122, CgroupParent: buPod,
			Attributes: &runtimeapi.ContainerAttributes{Id: buContainer, Metadata: &runtimeapi.ContainerMetadata{Name: "app"}}}},
	}
	pm, err := c.PodSandboxMetrics(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(pm.ContainerMetrics) != 1 {
		t.Fatalf("%d containers' metrics, want 1", len(pm.ContainerMetrics))
	}
	sum := map[string]uint64{}
	for _, m := range pm.ContainerMetrics[0].Metrics {
		sum[m.Name] += m.GetValue().GetValue()
	}
	for name, want := range map[string]uint64{
		"container_spec_memory_limit_bytes":         67108864,
		"container_spec_cpu_quota":                  50000,
		"container_spec_cpu_period":                 100000,
		"container_spec_cpu_shares":                 80, // weight 4, mapped back (runc maps shares 102 to 4)
		"container_cpu_cfs_throttled_periods_total": 188,
		"container_cpu_cfs_periods_total":           412,
		"container_oom_events_total":                1,
		"container_memory_failcnt":                  27,
		"container_memory_max_usage_bytes":          67108864,
		"container_memory_usage_bytes":              66383872,
		"container_memory_rss":                      65499136,
		"container_processes":                       2,
		"container_threads":                         3,
		"container_threads_max":                     1024,
		"container_fs_reads_bytes_total":            8192,
		"container_fs_writes_bytes_total":           4096 + 1048576,
		"container_fs_writes_total":                 1 + 8,
	} {
		if got := sum[name]; got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if got := sum["container_cpu_cfs_throttled_seconds_total"]; got != 10 {
		t.Errorf("throttled seconds %d, want 10 (10284915 µs)", got)
	}
}

// cgroup v1 (this machine's hybrid layout) with the systemd driver: each
// controller's hierarchy holds the same slice path, the scope in it.
func TestV1SystemdPaths(t *testing.T) {
	f := newV1Fixture(t, "systemd")
	pod := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice"
	v1Tree(t, f.root, pod, 9e9, 5000, 1000)
	v1Tree(t, f.root, pod+"/docker-sb.scope", 1e9, 100, 0)
	v1Tree(t, f.root, pod+"/docker-c1.scope", 2e9, 1000, 300)
	ctx := context.Background()
	c1 := ContainerRef{ID: "c1", Pid: 60, CgroupParent: "kubepods-burstable-pod1.slice"}
	st, err := f.c.ContainerStats(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	if f.c.paths["c1"] != pod+"/docker-c1.scope" || st.GetCpu().GetUsageCoreNanoSeconds().GetValue() != 2e9 {
		t.Errorf("resolved %s, cpu %v", f.c.paths["c1"], st.GetCpu())
	}
	ps, err := f.c.PodSandboxStats(ctx, SandboxRef{ID: "sb", Pid: 50, CgroupParent: "kubepods-burstable-pod1.slice", Containers: []ContainerRef{c1}})
	if err != nil {
		t.Fatal(err)
	}
	if ps.Linux.GetCpu().GetUsageCoreNanoSeconds().GetValue() != 9e9 || ps.Linux.GetMemory().GetWorkingSetBytes().GetValue() != 4000 {
		t.Errorf("pod stats from the pod slice: %v %v", ps.Linux.GetCpu(), ps.Linux.GetMemory())
	}
}
