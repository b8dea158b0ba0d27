package stats

import (
	"context"
	"strconv"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The cAdvisor-style series the kubelet serves on /metrics/cadvisor when it
// takes them from the runtime (PodAndContainerStatsFromCRI). Label keys
// follow CRI-O's: id, name, image, plus a series' own.
var (
	baseLabels    = []string{"id", "name", "image"}
	networkLabels = []string{"id", "name", "image", "interface"}
)

// mval is one value of a metric: the labels past the base ones, and the value.
type mval struct {
	labels []string
	v      uint64
}

// metricInput is everything the container metrics are computed from.
type metricInput struct {
	s             *sample
	layerBytes    uint64
	layerInodes   uint64
	fs            statfsUsage
	fds, sockets  uint64
	startTime     uint64 // unix seconds, 0 if unknown
	now           time.Time
	blkioDevNames map[[2]uint64]string
}

type metricDef struct {
	name, help string
	extra      []string // label keys past the base ones
	typ        runtimeapi.MetricType
	values     func(in *metricInput) []mval
}

const (
	counter = runtimeapi.MetricType_COUNTER
	gauge   = runtimeapi.MetricType_GAUGE
)

func one(v uint64) []mval { return []mval{{v: v}} }

func secs(ns uint64) uint64 { return ns / uint64(time.Second) }

func blkio(in *metricInput, op string, pick func(b blkioStat) uint64, withMajMin bool) []mval {
	var out []mval
	for _, b := range in.s.blkio {
		if op != "" && b.op != op {
			continue
		}
		dev := in.blkioDevNames[[2]uint64{b.major, b.minor}]
		if withMajMin {
			out = append(out, mval{[]string{dev, strconv.FormatUint(b.major, 10), strconv.FormatUint(b.minor, 10), b.op}, pick(b)})
		} else {
			out = append(out, mval{[]string{dev}, pick(b)})
		}
	}
	return out
}

var containerMetrics = []metricDef{
	{"container_cpu_usage_seconds_total", "Cumulative CPU time consumed in seconds.", []string{"cpu"}, counter,
		func(in *metricInput) []mval { return []mval{{[]string{"total"}, secs(in.s.cpuUsageNs)}} }},
	{"container_cpu_user_seconds_total", "Cumulative user CPU time consumed in seconds.", nil, counter,
		func(in *metricInput) []mval { return one(secs(in.s.cpuUserNs)) }},
	{"container_cpu_system_seconds_total", "Cumulative system CPU time consumed in seconds.", nil, counter,
		func(in *metricInput) []mval { return one(secs(in.s.cpuSystemNs)) }},
	{"container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", nil, counter,
		func(in *metricInput) []mval { return one(in.s.cfsPeriods) }},
	{"container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", nil, counter,
		func(in *metricInput) []mval { return one(in.s.cfsThrottled) }},
	{"container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.", nil, counter,
		func(in *metricInput) []mval { return one(secs(in.s.cfsThrottledNs)) }},

	{"container_memory_cache", "Number of bytes of page cache memory.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memCache) }},
	{"container_memory_rss", "Size of RSS in bytes.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memRSS) }},
	{"container_memory_kernel_usage", "Size of kernel memory allocated in bytes.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memKernel) }},
	{"container_memory_mapped_file", "Size of memory mapped files in bytes.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memMapped) }},
	{"container_memory_swap", "Container swap usage in bytes.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memSwap) }},
	{"container_memory_failcnt", "Number of memory usage hits limits.", nil, counter,
		func(in *metricInput) []mval { return one(in.s.memFailcnt) }},
	{"container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memUsage) }},
	{"container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memMaxUsage) }},
	{"container_memory_working_set_bytes", "Current working set in bytes.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memWorkingSet) }},
	{"container_memory_failures_total", "Cumulative count of memory allocation failures.", []string{"failure_type", "scope"}, counter,
		func(in *metricInput) []mval {
			return []mval{
				{[]string{"pgfault", "container"}, in.s.pgfaultSelf},
				{[]string{"pgfault", "hierarchy"}, in.s.pgfault},
				{[]string{"pgmajfault", "container"}, in.s.pgmajfaultSelf},
				{[]string{"pgmajfault", "hierarchy"}, in.s.pgmajfault},
			}
		}},
	{"container_oom_events_total", "Count of out of memory events observed for the container.", nil, counter,
		func(in *metricInput) []mval { return one(in.s.oomKills) }},

	{"container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.", nil, gauge,
		func(in *metricInput) []mval { return one(in.layerBytes) }},
	{"container_fs_limit_bytes", "Number of bytes that can be consumed by the container on this filesystem.", nil, gauge,
		func(in *metricInput) []mval { return one(in.fs.capacity) }},
	{"container_fs_inodes_free", "Number of available inodes.", nil, gauge,
		func(in *metricInput) []mval { return one(in.fs.inodesFree) }},
	{"container_fs_inodes_total", "Number of inodes.", nil, gauge,
		func(in *metricInput) []mval { return one(in.fs.inodes) }},
	{"container_fs_reads_bytes_total", "Cumulative count of bytes read.", []string{"device"}, counter,
		func(in *metricInput) []mval {
			return blkio(in, "Read", func(b blkioStat) uint64 { return b.bytes }, false)
		}},
	{"container_fs_reads_total", "Cumulative count of reads completed.", []string{"device"}, counter,
		func(in *metricInput) []mval {
			return blkio(in, "Read", func(b blkioStat) uint64 { return b.ios }, false)
		}},
	{"container_fs_writes_bytes_total", "Cumulative count of bytes written.", []string{"device"}, counter,
		func(in *metricInput) []mval {
			return blkio(in, "Write", func(b blkioStat) uint64 { return b.bytes }, false)
		}},
	{"container_fs_writes_total", "Cumulative count of writes completed.", []string{"device"}, counter,
		func(in *metricInput) []mval {
			return blkio(in, "Write", func(b blkioStat) uint64 { return b.ios }, false)
		}},
	{"container_blkio_device_usage_total", "Blkio device bytes usage.", []string{"device", "major", "minor", "operation"}, counter,
		func(in *metricInput) []mval { return blkio(in, "", func(b blkioStat) uint64 { return b.bytes }, true) }},

	{"container_processes", "Number of processes running inside the container.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.procs) }},
	{"container_threads", "Number of threads running inside the container.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.threads) }},
	{"container_threads_max", "Maximum number of threads allowed inside the container, infinity if value is zero.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.threadsMax) }},
	{"container_file_descriptors", "Number of open file descriptors for the container.", nil, gauge,
		func(in *metricInput) []mval { return one(in.fds) }},
	{"container_sockets", "Number of open sockets for the container.", nil, gauge,
		func(in *metricInput) []mval { return one(in.sockets) }},

	{"container_last_seen", "Last time a container was seen by the exporter.", nil, gauge,
		func(in *metricInput) []mval { return one(uint64(in.now.Unix())) }},
	{"container_start_time_seconds", "Start time of the container since unix epoch in seconds.", nil, gauge,
		func(in *metricInput) []mval { return one(in.startTime) }},
	{"container_spec_memory_limit_bytes", "Memory limit for the container.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memLimit) }},
	{"container_spec_memory_swap_limit_bytes", "Memory swap limit for the container.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memSwapLimit) }},
	{"container_spec_memory_reservation_limit_bytes", "Memory reservation limit for the container.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.memReserve) }},
	{"container_spec_cpu_period", "CPU period of the container.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.cpuPeriod) }},
	{"container_spec_cpu_shares", "CPU share of the container.", nil, gauge,
		func(in *metricInput) []mval { return one(in.s.cpuShares) }},
	{"container_spec_cpu_quota", "CPU quota of the container.", nil, gauge,
		func(in *metricInput) []mval {
			if in.s.cpuQuota <= 0 {
				return nil // no quota: cAdvisor leaves the series out too
			}
			return one(uint64(in.s.cpuQuota))
		}},
}

// netMetric is a pod-level series over one interface counter.
type netMetric struct {
	name, help string
	pick       func(f *netIf) uint64
}

var networkMetrics = []netMetric{
	{"container_network_receive_bytes_total", "Cumulative count of bytes received.", func(f *netIf) uint64 { return f.rxBytes }},
	{"container_network_receive_packets_total", "Cumulative count of packets received.", func(f *netIf) uint64 { return f.rxPackets }},
	{"container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving.", func(f *netIf) uint64 { return f.rxDrops }},
	{"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving.", func(f *netIf) uint64 { return f.rxErrors }},
	{"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", func(f *netIf) uint64 { return f.txBytes }},
	{"container_network_transmit_packets_total", "Cumulative count of packets transmitted.", func(f *netIf) uint64 { return f.txPackets }},
	{"container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting.", func(f *netIf) uint64 { return f.txDrops }},
	{"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting.", func(f *netIf) uint64 { return f.txErrors }},
}

// MetricDescriptors lists every series PodSandboxMetrics returns.
func (c *Collector) MetricDescriptors() []*runtimeapi.MetricDescriptor {
	out := make([]*runtimeapi.MetricDescriptor, 0, len(containerMetrics)+len(networkMetrics))
	for _, m := range containerMetrics {
		out = append(out, &runtimeapi.MetricDescriptor{
			Name: m.name, Help: m.help,
			LabelKeys: append(append([]string{}, baseLabels...), m.extra...),
		})
	}
	for _, m := range networkMetrics {
		out = append(out, &runtimeapi.MetricDescriptor{
			Name: m.name, Help: m.help, LabelKeys: append([]string{}, networkLabels...),
		})
	}
	return out
}

// PodSandboxMetrics returns the pod's series: network counters at pod level,
// and each running container's cgroup, filesystem and process series.
func (c *Collector) PodSandboxMetrics(ctx context.Context, ref SandboxRef) (*runtimeapi.PodSandboxMetrics, error) {
	now := c.now()
	ts := now.UnixNano()
	out := &runtimeapi.PodSandboxMetrics{PodSandboxId: ref.ID}
	podName := ""
	if md := ref.Attributes.GetMetadata(); md != nil {
		podName = md.GetName()
	}
	if ref.Pid > 0 {
		if ifs, err := readNetDev(c.procRoot, ref.Pid); err == nil {
			for i := range ifs {
				for _, m := range networkMetrics {
					out.Metrics = append(out.Metrics, &runtimeapi.Metric{
						Name: m.name, Timestamp: ts, MetricType: counter,
						LabelValues: []string{ref.ID, podName, "", ifs[i].name},
						Value:       u64(m.pick(&ifs[i])),
					})
				}
			}
		}
	}
	fsu, _ := statfs(c.fs.imageDir())
	devs := blockDevices()
	for _, cr := range ref.Containers {
		if cr.Pid == 0 {
			continue
		}
		s, err := c.readContainer(cr, true)
		if err != nil {
			continue // exited meanwhile
		}
		in := metricInput{s: &s, fs: fsu, now: now, blkioDevNames: devs}
		if up := c.upperDir(cr); up != "" {
			in.layerBytes, in.layerInodes = c.layers.get(up)
		}
		if rel, err := c.containerPath(cr); err == nil {
			in.fds, in.sockets = countFDs(c.procRoot, c.cg.procsFile(rel))
		}
		in.startTime = processStart(c.procRoot, cr.Pid)
		labels := []string{cr.ID, cr.Attributes.GetMetadata().GetName(), cr.Image}
		cm := &runtimeapi.ContainerMetrics{ContainerId: cr.ID}
		for _, m := range containerMetrics {
			for _, v := range m.values(&in) {
				cm.Metrics = append(cm.Metrics, &runtimeapi.Metric{
					Name: m.name, Timestamp: ts, MetricType: m.typ,
					LabelValues: append(append(make([]string, 0, len(labels)+len(v.labels)), labels...), v.labels...),
					Value:       u64(v.v),
				})
			}
		}
		out.ContainerMetrics = append(out.ContainerMetrics, cm)
	}
	return out, nil
}
