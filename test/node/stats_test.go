package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// /stats/summary and /metrics/resource (what metrics-server and the
// scheduler's view of usage read) carry the pod's CPU and memory.
func testStats(t *testing.T, n *Node) {
	// A little CPU every second, and 16 MiB in the pod's /dev/shm (charged
	// to its memory cgroup).
	p := newPod("dlnode-stats", v1.RestartPolicyAlways, busybox("c",
		"dd if=/dev/zero of=/dev/shm/fill bs=1M count=16 2>/dev/null; while :; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 1; done"))
	n.addPod(t, p)
	n.waitPod(t, p.Name, 2*time.Minute, podReady)
	full := n.fullName(p.Name)

	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, err := n.summary(ctx)
		cancel()
		if err == nil {
			last = checkPodStats(s, full)
			if last == nil {
				break
			}
		} else {
			last = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("/stats/summary for %s: %v", full, last)
		}
		time.Sleep(2 * time.Second)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	metrics := string(must(n.get(ctx, "/metrics/resource")).get(t))
	for _, series := range []string{
		`container_cpu_usage_seconds_total{container="c",namespace="default",pod="` + full + `"}`,
		`container_memory_working_set_bytes{container="c",namespace="default",pod="` + full + `"}`,
		`pod_cpu_usage_seconds_total{namespace="default",pod="` + full + `"}`,
		`pod_memory_working_set_bytes{namespace="default",pod="` + full + `"}`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics/resource lacks %s", series)
		}
	}
}

func checkPodStats(s *statsapi.Summary, full string) error {
	for _, ps := range s.Pods {
		if ps.PodRef.Name != full {
			continue
		}
		if ps.CPU == nil || ps.CPU.UsageCoreNanoSeconds == nil || *ps.CPU.UsageCoreNanoSeconds == 0 {
			return fmt.Errorf("pod CPU: %+v", ps.CPU)
		}
		if ps.Memory == nil || ps.Memory.WorkingSetBytes == nil || *ps.Memory.WorkingSetBytes < 16<<20 {
			return fmt.Errorf("pod memory working set below the 16 MiB the pod holds: %+v", memOf(ps.Memory))
		}
		for _, cs := range ps.Containers {
			if cs.Name != "c" {
				continue
			}
			if cs.CPU == nil || cs.CPU.UsageNanoCores == nil || *cs.CPU.UsageNanoCores == 0 || cs.CPU.UsageCoreNanoSeconds == nil {
				return fmt.Errorf("container CPU: %+v", cs.CPU)
			}
			if cs.Memory == nil || cs.Memory.WorkingSetBytes == nil || *cs.Memory.WorkingSetBytes < 16<<20 {
				return fmt.Errorf("container memory: %+v", memOf(cs.Memory))
			}
			if cs.Rootfs == nil || cs.Logs == nil {
				return fmt.Errorf("container rootfs %v logs %v", cs.Rootfs, cs.Logs)
			}
			return nil
		}
		return fmt.Errorf("container c not in the pod's stats")
	}
	return fmt.Errorf("pod %s not in /stats/summary", full)
}

func memOf(m *statsapi.MemoryStats) string {
	if m == nil || m.WorkingSetBytes == nil {
		return "none"
	}
	return fmt.Sprintf("working set %d", *m.WorkingSetBytes)
}
