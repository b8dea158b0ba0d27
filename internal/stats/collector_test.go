package stats

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    5720      60    1    2    0     0          0         0     1234      12    3    4    0     0       0          0
`

// v1Tree writes a cgroup v1 container directory with the given usage.
func v1Tree(t *testing.T, root, rel string, cpuNs, usage, inactive uint64) {
	writeFiles(t, root, map[string]string{
		"cpuacct" + rel + "/cpuacct.usage":            strconv.FormatUint(cpuNs, 10) + "\n",
		"cpuacct" + rel + "/cpuacct.usage_user":       "7000000000\n",
		"cpuacct" + rel + "/cpuacct.usage_sys":        "3000000000\n",
		"cpu" + rel + "/cpu.stat":                     "nr_periods 10\nnr_throttled 2\nthrottled_time 5000000000\n",
		"cpu" + rel + "/cpu.shares":                   "1024\n",
		"cpu" + rel + "/cpu.cfs_period_us":            "100000\n",
		"cpu" + rel + "/cpu.cfs_quota_us":             "20000\n",
		"memory" + rel + "/memory.usage_in_bytes":     strconv.FormatUint(usage, 10) + "\n",
		"memory" + rel + "/memory.limit_in_bytes":     "9223372036854771712\n",
		"memory" + rel + "/memory.max_usage_in_bytes": "900000\n",
		"memory" + rel + "/memory.failcnt":            "0\n",
		"memory" + rel + "/memory.oom_control":        "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
		"memory" + rel + "/memory.stat": "cache 10\nrss 20\npgfault 30\npgmajfault 1\n" +
			"hierarchical_memory_limit 9223372036854771712\ntotal_cache 100\ntotal_rss 200\ntotal_mapped_file 50\ntotal_pgfault 300\ntotal_pgmajfault 3\ntotal_inactive_file " + strconv.FormatUint(inactive, 10) + "\n",
		"memory" + rel + "/cgroup.procs":                   "1\n2\n",
		"pids" + rel + "/pids.current":                     "3\n",
		"pids" + rel + "/pids.max":                         "max\n",
		"blkio" + rel + "/blkio.throttle.io_service_bytes": "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n",
		"blkio" + rel + "/blkio.throttle.io_serviced":      "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n",
	})
}

type fixture struct {
	c     *Collector
	root  string
	proc  string
	clock time.Time
}

func newV1Fixture(t *testing.T, driver string) *fixture {
	root, proc := t.TempDir(), t.TempDir()
	cg := &cgroupV1{mounts: map[string]string{}}
	for _, ctrl := range []string{"cpu", "cpuacct", "memory", "pids", "blkio"} {
		cg.mounts[ctrl] = filepath.Join(root, ctrl)
	}
	f := &fixture{root: root, proc: proc, clock: time.Unix(1_800_000_000, 0)}
	f.c = newCollector(driver, t.TempDir(), proc, cg, nil)
	f.c.now = func() time.Time { return f.clock }
	t.Cleanup(f.c.Close)
	return f
}

func TestContainerStatsV1(t *testing.T) {
	f := newV1Fixture(t, "cgroupfs")
	v1Tree(t, f.root, "/docker/c1", 1_000_000_000, 1000, 300)
	ref := ContainerRef{ID: "c1", Pid: 99, Attributes: &runtimeapi.ContainerAttributes{Id: "c1"}}
	ctx := context.Background()

	st, err := f.c.ContainerStats(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetAttributes().GetId() != "c1" || st.GetCpu().GetTimestamp() != f.clock.UnixNano() || st.GetMemory().GetTimestamp() == 0 {
		t.Fatalf("bad stats %v", st)
	}
	if st.Cpu.UsageCoreNanoSeconds.GetValue() != 1_000_000_000 || st.Cpu.UsageNanoCores != nil {
		t.Errorf("first CPU reading: %v (no rate yet expected)", st.Cpu)
	}
	m := st.Memory
	if m.WorkingSetBytes.GetValue() != 700 || m.UsageBytes.GetValue() != 1000 || m.RssBytes.GetValue() != 200 ||
		m.PageFaults.GetValue() != 300 || m.MajorPageFaults.GetValue() != 3 || m.AvailableBytes != nil {
		t.Errorf("memory %v", m)
	}

	// Half a core for two seconds.
	f.clock = f.clock.Add(2 * time.Second)
	v1Tree(t, f.root, "/docker/c1", 2_000_000_000, 1000, 300)
	st, _ = f.c.ContainerStats(ctx, ref)
	if got := st.Cpu.GetUsageNanoCores().GetValue(); got != 500_000_000 {
		t.Errorf("nano cores = %d, want 5e8", got)
	}
	// A call right after reuses the rate rather than dividing by ~0.
	f.clock = f.clock.Add(time.Millisecond)
	st, _ = f.c.ContainerStats(ctx, ref)
	if got := st.Cpu.GetUsageNanoCores().GetValue(); got != 500_000_000 {
		t.Errorf("nano cores right after = %d, want 5e8", got)
	}

	// A limit (here inherited from the pod) gives the available bytes.
	writeFiles(t, f.root, map[string]string{"memory/docker/c1/memory.stat": "hierarchical_memory_limit 2000\ntotal_inactive_file 300\n"})
	st, _ = f.c.ContainerStats(ctx, ref)
	if got := st.Memory.GetAvailableBytes().GetValue(); got != 1300 {
		t.Errorf("available = %d, want 1300", got)
	}

	// Not running: attributes only, no error.
	st, err = f.c.ContainerStats(ctx, ContainerRef{ID: "gone", Attributes: ref.Attributes})
	if err != nil || st.Cpu != nil || st.GetAttributes().GetId() != "c1" {
		t.Errorf("stopped container: %v, %v", st, err)
	}
	// Running but its cgroup is gone (exited meanwhile): NotFound.
	if _, err := f.c.ContainerStats(ctx, ContainerRef{ID: "vanished", Pid: 12345}); !errdefs.IsNotFound(err) {
		t.Errorf("vanished cgroup: %v, want ErrNotFound", err)
	}
	os.RemoveAll(filepath.Join(f.root, "memory", "docker", "c1"))
	if _, err := f.c.ContainerStats(ctx, ref); !errdefs.IsNotFound(err) {
		t.Errorf("removed cgroup after caching its path: %v, want ErrNotFound", err)
	}
}

func TestContainerStatsV2Systemd(t *testing.T) {
	root := t.TempDir()
	rel := "/kubepods.slice/kubepods-pod1.slice/docker-c2.scope"
	writeFiles(t, root, map[string]string{
		rel + "/cpu.stat":       "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 0\n",
		rel + "/memory.current": "5000\n",
		rel + "/memory.max":     "8000\n",
		rel + "/memory.stat":    "anon 1000\nfile 3000\ninactive_file 2000\npgfault 77\npgmajfault 7\nkernel_stack 10\nslab 20\n",
	})
	c := newCollector("systemd", t.TempDir(), t.TempDir(), &cgroupV2{root: root}, nil)
	defer c.Close()
	st, err := c.ContainerStats(context.Background(), ContainerRef{ID: "c2", Pid: 1, CgroupParent: "kubepods-pod1.slice"})
	if err != nil {
		t.Fatal(err)
	}
	m := st.Memory
	if st.Cpu.UsageCoreNanoSeconds.GetValue() != 3_000_000_000 || m.WorkingSetBytes.GetValue() != 3000 ||
		m.AvailableBytes.GetValue() != 5000 || m.RssBytes.GetValue() != 1000 || m.PageFaults.GetValue() != 77 {
		t.Errorf("stats %v", st)
	}
	var s sample
	if err := c.cg.full(rel, &s); err != nil {
		t.Fatal(err)
	}
	if s.memKernel != 30 || s.cpuUserNs != 2_000_000_000 || s.cpuQuota != -1 {
		t.Errorf("full sample %+v", s)
	}
}

func TestNanoCores(t *testing.T) {
	t0 := time.Unix(100, 0)
	tests := []struct {
		name        string
		prev        cpuPrev
		usage       uint64
		now         time.Time
		rate        uint64
		ok, replace bool
	}{
		{"first", cpuPrev{}, 5, t0, 0, false, true},
		{"one core", cpuPrev{usage: 0, at: t0}, 1e9, t0.Add(time.Second), 1e9, true, true},
		{"counter reset", cpuPrev{usage: 1e9, at: t0}, 10, t0.Add(time.Second), 0, false, true},
		{"too soon keeps last", cpuPrev{usage: 0, at: t0, nanoCores: 42, hasRate: true}, 1e9, t0.Add(time.Millisecond), 42, true, false},
		{"idle", cpuPrev{usage: 7, at: t0}, 7, t0.Add(10 * time.Second), 0, true, true},
	}
	for _, tt := range tests {
		rate, ok, replace := nanoCores(tt.prev, tt.usage, tt.now)
		if rate != tt.rate || ok != tt.ok || replace != tt.replace {
			t.Errorf("%s: got (%d, %v, %v), want (%d, %v, %v)", tt.name, rate, ok, replace, tt.rate, tt.ok, tt.replace)
		}
	}
}

func TestPodSandboxStats(t *testing.T) {
	f := newV1Fixture(t, "cgroupfs")
	v1Tree(t, f.root, "/docker/sb", 1e9, 100, 0)
	v1Tree(t, f.root, "/docker/c1", 2e9, 1000, 300)
	v1Tree(t, f.root, "/kubepods/pod1", 9e9, 5000, 1000)
	writeFiles(t, f.proc, map[string]string{"50/net/dev": netDev})
	ref := SandboxRef{
		ID: "sb", Pid: 50, Attributes: &runtimeapi.PodSandboxAttributes{Id: "sb"},
		Containers: []ContainerRef{{ID: "c1", Pid: 60}, {ID: "stopped"}},
	}
	ctx := context.Background()

	// No pod cgroup: the sandbox's and containers' cgroups are summed.
	st, err := f.c.PodSandboxStats(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	l := st.Linux
	if l.Cpu.UsageCoreNanoSeconds.GetValue() != 3e9 || l.Memory.WorkingSetBytes.GetValue() != 800 || l.Process.ProcessCount.GetValue() != 4 {
		t.Errorf("summed pod stats: cpu %v mem %v proc %v", l.Cpu, l.Memory, l.Process)
	}
	if len(l.Containers) != 2 {
		t.Errorf("%d container stats, want 2", len(l.Containers))
	}
	n := l.Network
	if n.GetDefaultInterface().GetName() != "eth0" || n.DefaultInterface.RxBytes.GetValue() != 5720 || n.DefaultInterface.TxErrors.GetValue() != 3 || len(n.Interfaces) != 1 {
		t.Errorf("network %v", n)
	}

	// With a pod cgroup, that is read instead.
	ref.CgroupParent = "/kubepods/pod1"
	st, _ = f.c.PodSandboxStats(ctx, ref)
	if st.Linux.Cpu.UsageCoreNanoSeconds.GetValue() != 9e9 || st.Linux.Memory.WorkingSetBytes.GetValue() != 4000 {
		t.Errorf("pod cgroup stats: %v %v", st.Linux.Cpu, st.Linux.Memory)
	}
}

// Expected by critest's "runtime should support returning metrics
// descriptors" (cri-tools v1.37), less the series it lists as unimplemented.
var critestMetricNames = []string{
	"container_blkio_device_usage_total", "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total",
	"container_cpu_cfs_throttled_seconds_total", "container_cpu_system_seconds_total", "container_cpu_usage_seconds_total",
	"container_cpu_user_seconds_total", "container_file_descriptors", "container_fs_inodes_free", "container_fs_inodes_total",
	"container_fs_limit_bytes", "container_fs_reads_bytes_total", "container_fs_reads_total", "container_fs_usage_bytes",
	"container_fs_writes_bytes_total", "container_fs_writes_total", "container_last_seen", "container_memory_cache",
	"container_memory_failcnt", "container_memory_failures_total", "container_memory_kernel_usage", "container_memory_mapped_file",
	"container_memory_max_usage_bytes", "container_memory_rss", "container_memory_swap", "container_memory_usage_bytes",
	"container_memory_working_set_bytes", "container_network_receive_bytes_total", "container_network_receive_errors_total",
	"container_network_receive_packets_dropped_total", "container_network_receive_packets_total",
	"container_network_transmit_bytes_total", "container_network_transmit_errors_total",
	"container_network_transmit_packets_dropped_total", "container_network_transmit_packets_total", "container_oom_events_total",
	"container_processes", "container_sockets", "container_spec_cpu_period", "container_spec_cpu_shares",
	"container_spec_memory_limit_bytes", "container_spec_memory_swap_limit_bytes", "container_start_time_seconds",
	"container_threads", "container_threads_max",
}

func TestMetricsMatchDescriptors(t *testing.T) {
	f := newV1Fixture(t, "cgroupfs")
	v1Tree(t, f.root, "/docker/c1", 2e9, 1000, 300)
	writeFiles(t, f.proc, map[string]string{"50/net/dev": netDev})
	descs := f.c.MetricDescriptors()
	byName := map[string]*runtimeapi.MetricDescriptor{}
	for _, d := range descs {
		if d.Help == "" || len(d.LabelKeys) == 0 {
			t.Errorf("descriptor %s lacks help or labels", d.Name)
		}
		if byName[d.Name] != nil {
			t.Errorf("descriptor %s twice", d.Name)
		}
		byName[d.Name] = d
	}
	for _, n := range critestMetricNames {
		if byName[n] == nil {
			t.Errorf("descriptor %s missing", n)
		}
	}
	ref := SandboxRef{ID: "sb", Pid: 50, Attributes: &runtimeapi.PodSandboxAttributes{Id: "sb", Metadata: &runtimeapi.PodSandboxMetadata{Name: "pod"}},
		Containers: []ContainerRef{{ID: "c1", Pid: 60, Image: "busybox", Attributes: &runtimeapi.ContainerAttributes{Id: "c1", Metadata: &runtimeapi.ContainerMetadata{Name: "ctr"}}}}}
	pm, err := f.c.PodSandboxMetrics(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if pm.PodSandboxId != "sb" || len(pm.ContainerMetrics) != 1 || pm.ContainerMetrics[0].ContainerId != "c1" {
		t.Fatalf("metrics %v", pm)
	}
	found := map[string]*runtimeapi.Metric{}
	all := append(slices.Clone(pm.Metrics), pm.ContainerMetrics[0].Metrics...)
	for _, m := range all {
		d := byName[m.Name]
		if d == nil {
			t.Errorf("metric %s has no descriptor", m.Name)
			continue
		}
		if len(m.LabelValues) != len(d.LabelKeys) {
			t.Errorf("metric %s: %d label values for %d keys", m.Name, len(m.LabelValues), len(d.LabelKeys))
		}
		if found[m.Name] == nil {
			found[m.Name] = m
		}
	}
	for _, n := range critestMetricNames {
		if found[n] == nil {
			t.Errorf("no value for %s", n)
		}
	}
	check := map[string]uint64{
		"container_memory_working_set_bytes":        700,
		"container_cpu_usage_seconds_total":         2,
		"container_cpu_cfs_throttled_seconds_total": 5,
		"container_network_receive_bytes_total":     5720,
		"container_oom_events_total":                1,
		"container_processes":                       2,
		"container_threads":                         3,
		"container_spec_cpu_shares":                 1024,
		"container_spec_cpu_quota":                  20000,
	}
	for n, want := range check {
		if got := found[n].GetValue().GetValue(); got != want {
			t.Errorf("%s = %d, want %d", n, got, want)
		}
	}
	if lv := found["container_memory_rss"].LabelValues; lv[0] != "c1" || lv[1] != "ctr" || lv[2] != "busybox" {
		t.Errorf("labels %v", lv)
	}
}
