// Package stats reads container and pod statistics straight from cgroups and
// /proc — never from Docker's stats API, which answers once per second per
// container and costs dockerd CPU. A ContainerStats call is a handful of
// small file reads; the writable layer's size, which needs a directory walk,
// comes from a cache a background walker keeps fresh.
package stats

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerRef is what the collector needs to know about one container.
type ContainerRef struct {
	ID           string // Docker id
	Attributes   *runtimeapi.ContainerAttributes
	CgroupParent string // HostConfig.CgroupParent ("" = Docker default)
	Pid          int    // 0 if not running
	UpperDir     string // GraphDriver.Data["UpperDir"] (writable layer), may be ""
	Image        string // image the container runs, for the metrics' "image" label; may be ""
}

// SandboxRef is what the collector needs to know about one pod sandbox.
type SandboxRef struct {
	ID           string
	Attributes   *runtimeapi.PodSandboxAttributes
	CgroupParent string
	Pid          int // pause process, for network counters from /proc/<pid>/net/dev
	Containers   []ContainerRef
}

// Collector turns cgroup and /proc readings into CRI stats. It is safe for
// concurrent use.
type Collector struct {
	driver     string // "cgroupfs" or "systemd"
	dockerRoot string
	procRoot   string
	cg         cgroupFS
	log        *slog.Logger
	now        func() time.Time

	mu     sync.Mutex
	paths  map[string]string  // container id → resolved cgroup (relative)
	uppers map[string]string  // container id → writable layer read from its rootfs mount (snapshot.go)
	cpu    map[string]cpuPrev // container id, or "pod:"+sandbox id → last CPU reading

	layers *layerCache
	fs     *fsInfo
	files  *fileCache // kept cgroup files (shared with cg), nil in tests
}

// Option varies a Collector.
type Option func(*Collector)

// WithImageDir says where images and writable layers live when that is not
// a graph driver's directory under Docker's root: the containerd
// snapshotter's directory of Docker's containerd image store
// (engine.SnapshotterDir). "" changes nothing.
func WithImageDir(dir string) Option {
	return func(c *Collector) {
		if dir != "" {
			c.fs.dir = dir
		}
	}
}

// NewCollector detects the cgroup hierarchy (v1 or v2) and starts the
// writable-layer walker. cgroupDriver is Docker's ("cgroupfs" or "systemd",
// from docker info); dockerRoot is Docker's root directory (DockerRootDir).
func NewCollector(cgroupDriver, dockerRoot string, logger *slog.Logger, opts ...Option) (*Collector, error) {
	cg, err := detectCgroups("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	files := newFileCache(fdBudget())
	switch v := cg.(type) {
	case *cgroupV1:
		v.files = files
	case *cgroupV2:
		v.files = files
	}
	c := newCollector(cgroupDriver, dockerRoot, "/proc", cg, logger)
	c.files = files
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

func newCollector(driver, dockerRoot, procRoot string, cg cgroupFS, logger *slog.Logger) *Collector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dockerRoot == "" {
		dockerRoot = "/var/lib/docker"
	}
	return &Collector{
		driver:     driver,
		dockerRoot: dockerRoot,
		procRoot:   procRoot,
		cg:         cg,
		log:        logger,
		now:        time.Now,
		paths:      make(map[string]string),
		uppers:     make(map[string]string),
		cpu:        make(map[string]cpuPrev),
		layers:     newLayerCache(logger),
		fs:         newFSInfo(dockerRoot),
	}
}

// Close stops the background walker and closes the kept cgroup files.
func (c *Collector) Close() {
	c.layers.close()
	if c.files != nil {
		c.files.closeAll()
	}
}

// Forget drops what the collector keeps about a removed container.
func (c *Collector) Forget(containerID string) {
	c.mu.Lock()
	if rel, ok := c.paths[containerID]; ok {
		c.cg.forget(rel)
	}
	delete(c.paths, containerID)
	delete(c.uppers, containerID)
	delete(c.cpu, containerID)
	delete(c.cpu, "pod:"+containerID)
	c.mu.Unlock()
}

// CgroupVersion is 1 or 2.
func (c *Collector) CgroupVersion() int { return c.cg.version() }

// errNoCgroup is wrapped (with errdefs.ErrNotFound) when a running
// container's cgroup is not where Docker puts it.
var errNoCgroup = errors.New("cgroup not found")

// containerPath resolves (once, then from the cache) a container's cgroup.
func (c *Collector) containerPath(ref ContainerRef) (string, error) {
	c.mu.Lock()
	rel, ok := c.paths[ref.ID]
	c.mu.Unlock()
	if ok {
		return rel, nil
	}
	rel = containerCgroup(c.driver, ref.CgroupParent, ref.ID)
	if !c.cg.exists(rel) {
		// Layouts dockerlet did not predict (a nested daemon, a custom
		// cgroup namespace): ask the kernel where the process is.
		ctrl := "memory"
		if c.cg.version() == 2 {
			ctrl = ""
		}
		p, err := cgroupFromProc(c.procRoot, ref.Pid, ctrl)
		if err != nil || !c.cg.exists(p) {
			return "", fmt.Errorf("container %s: %w (%w)", ref.ID, errNoCgroup, errdefs.ErrNotFound)
		}
		rel = p
	}
	c.mu.Lock()
	c.paths[ref.ID] = rel
	c.mu.Unlock()
	return rel, nil
}

// readContainer reads a running container's cgroup; full selects the
// metrics set. A cgroup that vanished (the container just exited) is
// forgotten and reported as errdefs.ErrNotFound.
func (c *Collector) readContainer(ref ContainerRef, full bool) (sample, error) {
	var s sample
	rel, err := c.containerPath(ref)
	if err != nil {
		return s, err
	}
	if full {
		err = c.cg.full(rel, &s)
	} else {
		err = c.cg.fast(rel, &s)
	}
	if errors.Is(err, fs.ErrNotExist) {
		c.mu.Lock()
		delete(c.paths, ref.ID)
		c.mu.Unlock()
		c.cg.forget(rel)
		return s, fmt.Errorf("container %s: %w (%w)", ref.ID, errNoCgroup, errdefs.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("read cgroup of %s: %w", ref.ID, err)
	}
	return s, nil
}

// ContainerStats returns one container's stats. A container that is not
// running gets its attributes and writable layer only.
func (c *Collector) ContainerStats(ctx context.Context, ref ContainerRef) (*runtimeapi.ContainerStats, error) {
	st, _, err := c.containerStats(ref, c.now())
	return st, err
}

// containerStats also returns the cgroup sample it read (nil when the
// container is not running), so that PodSandboxStats can sum the pod
// without reading each container's cgroup a second time.
func (c *Collector) containerStats(ref ContainerRef, now time.Time) (*runtimeapi.ContainerStats, *sample, error) {
	st := &runtimeapi.ContainerStats{
		Attributes:    ref.Attributes,
		WritableLayer: c.writableLayer(ref, now),
	}
	if ref.Pid == 0 {
		return st, nil, nil
	}
	s, err := c.readContainer(ref, false)
	if err != nil {
		return nil, nil, err
	}
	st.Cpu = c.cpuUsage(ref.ID, s.cpuUsageNs, now)
	st.Memory = memoryUsage(&s, now)
	return st, &s, nil
}

func (c *Collector) writableLayer(ref ContainerRef, now time.Time) *runtimeapi.FilesystemUsage {
	upper := c.upperDir(ref)
	if upper == "" {
		return nil
	}
	bytes, inodes := c.layers.get(upper)
	return &runtimeapi.FilesystemUsage{
		Timestamp:  now.UnixNano(),
		FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: c.fs.storageDir(upper)},
		UsedBytes:  &runtimeapi.UInt64Value{Value: bytes},
		InodesUsed: &runtimeapi.UInt64Value{Value: inodes},
	}
}

func u64(v uint64) *runtimeapi.UInt64Value { return &runtimeapi.UInt64Value{Value: v} }

func memoryUsage(s *sample, now time.Time) *runtimeapi.MemoryUsage {
	m := &runtimeapi.MemoryUsage{
		Timestamp:       now.UnixNano(),
		WorkingSetBytes: u64(s.memWorkingSet),
		UsageBytes:      u64(s.memUsage),
		RssBytes:        u64(s.memRSS),
		PageFaults:      u64(s.pgfault),
		MajorPageFaults: u64(s.pgmajfault),
	}
	if s.memLimit > 0 {
		avail := uint64(0)
		if s.memLimit > s.memWorkingSet {
			avail = s.memLimit - s.memWorkingSet
		}
		m.AvailableBytes = u64(avail)
	}
	return m
}

// PodSandboxStats returns a pod's stats: its cgroup's CPU and memory (the
// sum of its containers' when it has no CgroupParent of its own), network
// counters of the pause process's namespace, and each container's stats.
func (c *Collector) PodSandboxStats(ctx context.Context, ref SandboxRef) (*runtimeapi.PodSandboxStats, error) {
	now := c.now()
	linux := &runtimeapi.LinuxPodSandboxStats{}
	var running []containerSample
	for _, cr := range ref.Containers {
		cs, s, err := c.containerStats(cr, now)
		if errdefs.IsNotFound(err) {
			continue // exited meanwhile
		}
		if err != nil {
			return nil, err
		}
		linux.Containers = append(linux.Containers, cs)
		if s != nil {
			running = append(running, containerSample{cr, s})
		}
	}
	s, procs, ok := c.readPod(ref, running)
	if ok {
		linux.Cpu = c.cpuUsage("pod:"+ref.ID, s.cpuUsageNs, now)
		linux.Memory = memoryUsage(&s, now)
		linux.Process = &runtimeapi.ProcessUsage{Timestamp: now.UnixNano(), ProcessCount: u64(procs)}
	}
	if ref.Pid > 0 {
		if ifs, err := readNetDev(c.procRoot, ref.Pid); err == nil {
			linux.Network = networkUsage(ifs, now)
		} else if !errors.Is(err, fs.ErrNotExist) {
			c.log.Debug("read pod network counters", "sandbox", ref.ID, "err", err)
		}
	}
	return &runtimeapi.PodSandboxStats{Attributes: ref.Attributes, Linux: linux}, nil
}

// containerSample is a running container's cgroup reading.
type containerSample struct {
	ref ContainerRef
	s   *sample
}

// readPod reads the pod's own cgroup or, when it has none, sums the
// sandbox's cgroup and the running containers' samples the caller already
// read. ok is false when nothing runs. The process count comes from the
// sandbox's and containers' cgroups either way: processes live in those
// leaves (docker-<id>.scope, <pod>/<id>), and a pod cgroup's own
// cgroup.procs is empty on both drivers and both hierarchy versions.
func (c *Collector) readPod(ref SandboxRef, running []containerSample) (s sample, procs uint64, ok bool) {
	count := func(cr ContainerRef) {
		if rel, err := c.containerPath(cr); err == nil {
			n, _ := countLines(c.cg.procsFile(rel))
			procs += n
		}
	}
	sb := ContainerRef{ID: ref.ID, CgroupParent: ref.CgroupParent, Pid: ref.Pid}
	if ref.Pid > 0 {
		count(sb)
	}
	for _, r := range running {
		count(r.ref)
	}
	if ref.CgroupParent != "" {
		rel := podCgroup(c.driver, ref.CgroupParent)
		if c.cg.exists(rel) {
			if err := c.cg.fast(rel, &s); err == nil {
				return s, procs, true
			}
			s = sample{} // a half-read pod cgroup must not leak into the sum
		}
	}
	if ref.Pid > 0 {
		if one, err := c.readContainer(sb, false); err == nil {
			ok = true
			s.add(&one)
		}
	}
	for _, r := range running {
		ok = true
		s.add(r.s)
	}
	return s, procs, ok
}

// add sums the counters and gauges of two cgroups (limits are not summed).
func (s *sample) add(o *sample) {
	s.cpuUsageNs += o.cpuUsageNs
	s.cpuUserNs += o.cpuUserNs
	s.cpuSystemNs += o.cpuSystemNs
	s.memUsage += o.memUsage
	s.memWorkingSet += o.memWorkingSet
	s.memRSS += o.memRSS
	s.memCache += o.memCache
	s.memMapped += o.memMapped
	s.memSwap += o.memSwap
	s.memKernel += o.memKernel
	s.pgfault += o.pgfault
	s.pgmajfault += o.pgmajfault
	s.procs += o.procs
	s.threads += o.threads
}
