package stats_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/sys/mountinfo"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
	"github.com/dockerlet/dockerlet/internal/stats"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

const prefix = "dltlog"

var seq atomic.Int64

func connect(t testing.TB) *engine.Client { return enginetest.Connect(t, engine.Options{}) }

func busybox(t testing.TB, c *engine.Client) string {
	t.Helper()
	reg := testutil.StartRegistry(t)
	marker := fmt.Sprintf("%d-%d", time.Now().UnixNano()%1e6, seq.Add(1))
	ref := reg.PushBusybox(t, prefix+"/busybox:"+marker, testutil.ImageOptions{Marker: prefix + "-" + marker})
	if err := c.PullImage(context.Background(), ref, engine.PullOptions{}); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	t.Cleanup(func() { _, _ = c.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true}) })
	return ref
}

// start runs a container and returns its stats reference.
func start(t testing.TB, c *engine.Client, image string, cmd ...string) stats.ContainerRef {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("%s-stats-%d-%d", prefix, time.Now().UnixNano()%1e6, seq.Add(1))
	id, err := c.CreateContainer(ctx, engine.CreateSpec{
		Name:       name,
		Config:     &container.Config{Image: image, Cmd: cmd},
		HostConfig: &container.HostConfig{},
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = c.RemoveContainer(context.Background(), id, engine.RemoveOptions{Force: true}) })
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	insp, err := c.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ref := stats.ContainerRef{
		ID:           id,
		Attributes:   &runtimeapi.ContainerAttributes{Id: id, Metadata: &runtimeapi.ContainerMetadata{Name: name}},
		CgroupParent: insp.HostConfig.CgroupParent,
		Pid:          insp.State.Pid,
		Image:        image,
	}
	if insp.GraphDriver != nil { // Docker 29 leaves it out with its containerd image store
		ref.UpperDir = insp.GraphDriver.Data["UpperDir"]
	}
	return ref
}

func collector(t testing.TB, c *engine.Client) *stats.Collector {
	t.Helper()
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var opts []stats.Option
	if snap := engine.Snapshotter(info); snap != "" {
		opts = append(opts, stats.WithImageDir(engine.SnapshotterDir(info.DockerRootDir, snap)))
	}
	col, err := stats.NewCollector(info.CgroupDriver, info.DockerRootDir, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(col.Close)
	return col
}

func TestRealContainerStats(t *testing.T) {
	eng := connect(t)
	img := busybox(t, eng)
	col := collector(t, eng)
	ctx := context.Background()
	// Burns CPU and writes 512 KiB into its writable layer.
	ref := start(t, eng, img, "sh", "-c", "dd if=/dev/zero of=/big.tmp bs=1024 count=512 2>/dev/null; mv /big.tmp /big; while :; do :; done")
	upper := ref.UpperDir
	if upper == "" {
		// Docker's containerd image store names no writable layer: the
		// collector finds it from the container's root filesystem mount.
		info, err := eng.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if engine.Snapshotter(info) == "" {
			t.Fatal("no UpperDir: not overlay2?")
		}
		upper = snapshotUpper(t, info.DockerRootDir, ref.ID)
	}
	// The first stats call queues the layer walk: let the file exist first.
	for deadline := time.Now().Add(20 * time.Second); ; {
		if fi, err := os.Stat(filepath.Join(upper, "big")); err == nil && fi.Size() == 512*1024 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container never wrote /big")
		}
		time.Sleep(20 * time.Millisecond)
	}

	first, err := col.ContainerStats(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if first.GetCpu().GetUsageCoreNanoSeconds().GetValue() == 0 || first.GetMemory().GetUsageBytes().GetValue() == 0 ||
		first.GetMemory().GetWorkingSetBytes().GetValue() == 0 {
		t.Errorf("first stats look empty: %v", first)
	}
	time.Sleep(500 * time.Millisecond)
	second, err := col.ContainerStats(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// A busy loop on a shared 2-core machine: well above a tenth of a core.
	if nc := second.GetCpu().GetUsageNanoCores().GetValue(); nc < 1e8 {
		t.Errorf("busy container at %d nano-cores", nc)
	}
	if second.Cpu.UsageCoreNanoSeconds.Value <= first.Cpu.UsageCoreNanoSeconds.Value {
		t.Error("cumulative CPU did not grow")
	}
	// The writable layer is measured in the background.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := col.ContainerStats(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if st.GetWritableLayer().GetUsedBytes().GetValue() >= 512*1024 && st.WritableLayer.InodesUsed.GetValue() >= 2 {
			if !strings.HasPrefix(st.WritableLayer.FsId.GetMountpoint(), "/") {
				t.Errorf("fs id %v", st.WritableLayer.FsId)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writable layer never measured: %v", st.GetWritableLayer())
		}
		time.Sleep(50 * time.Millisecond)
	}

	sb := stats.SandboxRef{ID: ref.ID, Pid: ref.Pid, Attributes: &runtimeapi.PodSandboxAttributes{Id: ref.ID}, Containers: []stats.ContainerRef{ref}}
	ps, err := col.PodSandboxStats(ctx, sb)
	if err != nil {
		t.Fatal(err)
	}
	if ps.GetLinux().GetNetwork().GetDefaultInterface().GetName() != "eth0" {
		t.Errorf("pod network %v", ps.GetLinux().GetNetwork())
	}
	if ps.Linux.GetProcess().GetProcessCount().GetValue() < 1 || len(ps.Linux.Containers) != 1 || ps.Linux.GetMemory().GetUsageBytes().GetValue() == 0 {
		t.Errorf("pod stats %v", ps.Linux)
	}

	pm, err := col.PodSandboxMetrics(ctx, sb)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range pm.Metrics {
		names[m.Name] = true
	}
	for _, cm := range pm.ContainerMetrics {
		for _, m := range cm.Metrics {
			names[m.Name] = true
		}
	}
	for _, d := range col.MetricDescriptors() {
		switch d.Name {
		case "container_blkio_device_usage_total", "container_fs_reads_bytes_total", "container_fs_reads_total",
			"container_fs_writes_bytes_total", "container_fs_writes_total", "container_spec_cpu_quota":
			continue // no block I/O here, no quota set: optional
		}
		if !names[d.Name] {
			t.Errorf("no value for %s on a real container", d.Name)
		}
	}

	fsi, err := col.ImageFsInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u := fsi.ImageFilesystems[0]; u.GetUsedBytes().GetValue() == 0 || u.GetInodesUsed().GetValue() == 0 {
		t.Errorf("image fs %v", u)
	}
	// The image filesystem is where the images are: the graph driver's
	// directory, or with Docker's containerd image store the snapshotter's.
	info, err := eng.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(info.DockerRootDir, info.Driver)
	if snap := engine.Snapshotter(info); snap != "" {
		want = filepath.Join(info.DockerRootDir, "containerd", "daemon", "io.containerd.snapshotter.v1."+snap)
	}
	if got := fsi.ImageFilesystems[0].GetFsId().GetMountpoint(); got != want {
		t.Errorf("image filesystem %s, want %s (Docker's storage: %s %v)", got, want, info.Driver, info.DriverStatus)
	}
}

// BenchmarkContainerStats is one ContainerStats call on a real container's
// cgroup; ListContainerStats for N containers is N of these.
func BenchmarkContainerStats(b *testing.B) {
	eng := connect(b)
	img := busybox(b, eng)
	col := collector(b, eng)
	ref := start(b, eng, img, "sleep", "600")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := col.ContainerStats(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListContainerStats100 is 100 ContainerStats calls spread over 10
// real containers: what ListContainerStats costs at 100 pods, less the
// gRPC and listing overhead of the CRI layer.
func BenchmarkListContainerStats100(b *testing.B) {
	eng := connect(b)
	img := busybox(b, eng)
	col := collector(b, eng)
	var refs []stats.ContainerRef
	for i := 0; i < 10; i++ {
		refs = append(refs, start(b, eng, img, "sleep", "600"))
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < 100; j++ {
			if _, err := col.ContainerStats(ctx, refs[j%len(refs)]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkPodSandboxMetrics(b *testing.B) {
	eng := connect(b)
	img := busybox(b, eng)
	col := collector(b, eng)
	ref := start(b, eng, img, "sleep", "600")
	sb := stats.SandboxRef{ID: ref.ID, Pid: ref.Pid, Containers: []stats.ContainerRef{ref}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := col.PodSandboxMetrics(ctx, sb); err != nil {
			b.Fatal(err)
		}
	}
}

// snapshotUpper reads the upper directory of the overlay Docker's
// containerd image store mounts as container id's root filesystem.
func snapshotUpper(t *testing.T, dockerRoot, id string) string {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(filepath.Join(dockerRoot, "rootfs", "overlayfs", id)))
	if err != nil || len(ms) != 1 {
		t.Fatalf("root filesystem mount of %s: %v %v", id, ms, err)
	}
	for _, o := range strings.Split(ms[0].VFSOptions, ",") {
		if v, ok := strings.CutPrefix(o, "upperdir="); ok {
			return v
		}
	}
	t.Fatalf("no upperdir in %s", ms[0].VFSOptions)
	return ""
}
