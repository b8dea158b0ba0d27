package engine

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/system"
)

// Snapshotter is the containerd snapshotter that holds the daemon's images
// and container layers when Docker runs its containerd image store (the
// default of fresh Docker 29 installs), or "" when a graph driver does.
func Snapshotter(info *system.Info) string {
	for _, kv := range info.DriverStatus {
		if kv[0] == "driver-type" && strings.HasPrefix(kv[1], "io.containerd.snapshotter") {
			return info.Driver
		}
	}
	return ""
}

// SnapshotterDir is the directory of snapshotter name under the containerd
// that dockerd runs itself (its root is <DockerRootDir>/containerd/daemon),
// else under the system containerd's default root; "" when neither exists.
func SnapshotterDir(dockerRoot, name string) string {
	leaf := "io.containerd.snapshotter.v1." + name
	for _, dir := range []string{
		filepath.Join(dockerRoot, "containerd", "daemon", leaf),
		filepath.Join("/var/lib/containerd", leaf),
	} {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
	}
	return ""
}
