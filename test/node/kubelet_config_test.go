package node

import (
	"fmt"
	"sort"
	"strings"
)

// kubeletConfig is the KubeletConfiguration of a standalone kubelet on this
// machine. Every setting that differs from a default says why.
func (n *Node) kubeletConfig() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("apiVersion: kubelet.config.k8s.io/v1beta1")
	w("kind: KubeletConfiguration")
	// Static pods from a directory, looked at every second (default 20 s).
	w("staticPodPath: %s", n.ManifestDir)
	w("fileCheckFrequency: 1s")
	w("syncFrequency: 10s")
	w("containerRuntimeEndpoint: unix://%s", n.Serve.Socket)
	w("podLogsDir: %s", n.PodLogsDir)
	// Not /usr/libexec/kubernetes/...: the kubelet creates it if missing.
	w("volumePluginDir: %s/volume-plugins", n.Dir)
	// Docker's cgroup driver: cgroupfs on this machine (cgroup v1), where
	// the pods go under a cgroup root of their own so nothing else on the
	// host is seen as an orphaned pod cgroup; systemd in the systemd test
	// node, with the root at / (kubepods.slice).
	w("cgroupDriver: %s", n.KubeletCgroupDriver)
	w("failCgroupV1: false")
	w("cgroupRoot: %s", n.CgroupRoot)
	w("failSwapOn: false")
	// Root lacks CAP_SYS_RESOURCE: the kubelet's own -999 fails.
	w("oomScoreAdj: 0")
	// Loopback only; anonymous, allow-all, as nothing but the test reaches it.
	w("address: 127.0.0.1")
	w("port: %d", n.Port)
	w("readOnlyPort: %d", n.ReadOnlyPort)
	w("healthzBindAddress: 127.0.0.1")
	w("healthzPort: %d", n.HealthzPort)
	w("authentication:")
	w("  anonymous:")
	w("    enabled: true")
	w("  webhook:")
	w("    enabled: false")
	w("authorization:")
	w("  mode: AlwaysAllow")
	// A busy CI disk must not evict the test pods, and the kubelet must never
	// garbage-collect images: they belong to the whole machine.
	w("evictionHard:")
	w("  memory.available: 1Mi")
	w("  nodefs.available: 1%%")
	w("  nodefs.inodesFree: 1%%")
	w("  imagefs.available: 1%%")
	w("  imagefs.inodesFree: 1%%")
	w("imageGCHighThresholdPercent: 100")
	w("imageGCLowThresholdPercent: 99")
	// Rotation end to end: 1 MiB files, 3 kept, looked at every 3 s
	// (the minimum; default 10 s).
	w("containerLogMaxSize: 1Mi")
	w("containerLogMaxFiles: 3")
	w("containerLogMonitorInterval: 3s")
	if len(n.FeatureGates) > 0 {
		w("featureGates:")
		names := make([]string, 0, len(n.FeatureGates))
		for k := range n.FeatureGates {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			w("  %s: %t", k, n.FeatureGates[k])
		}
	}
	return b.String()
}
