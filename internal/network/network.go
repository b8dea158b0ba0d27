// Package network gives pods their network: Docker's own bridge (the
// default, zero configuration) or CNI through libcni. The CRI server calls a
// Plugin around the sandbox (pause) container's life: Prepare before create,
// SetUp after start, IPs on every status, TearDown on stop.
package network

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// Pod is what a plugin needs to know about a pod sandbox. The CRI server
// persists it (with the netns path) so that TearDown works after a restart.
type Pod struct {
	ID, Name, Namespace, UID string
	HostNetwork              bool
	PortMappings             []*runtimeapi.PortMapping
	Annotations              map[string]string
	CgroupParent             string
	// DNS is the pod's DNS config, handed to CNI plugins with the "dns"
	// capability. Optional.
	DNS *runtimeapi.DNSConfig
	// CNICacheDir, when set, is the CNI cache directory another runtime
	// set the pod up with (a pod adopted from cri-dockerd): cni mode reads
	// its IPs and replays its teardown from there, with the config cached
	// at its ADD. "": the plugin's own.
	CNICacheDir string
}

// Result of SetUp.
type Result struct {
	IPs []string // first is the primary pod IP
}

// Plugin is one pod network implementation.
type Plugin interface {
	Name() string
	// Status is nil when the pod network is ready, else an error whose text
	// is the NetworkReady reason/message (see NotReadyError).
	Status() error
	// Prepare adjusts the sandbox (pause) container's create spec before
	// creation: docker mode: NetworkMode "bridge" (or the configured network)
	// + port bindings; cni mode: NetworkMode "none". Host-network pods:
	// NetworkMode "host" in both modes.
	Prepare(ctx context.Context, pod *Pod, spec *engine.CreateSpec) error
	// SetUp after the sandbox container started (netnsPath =
	// /proc/<pid>/ns/net). Returns the pod IPs.
	SetUp(ctx context.Context, pod *Pod, netnsPath string) (*Result, error)
	// IPs reads the pod IPs without forking (docker mode: from inspect; cni
	// mode: from its cache).
	IPs(ctx context.Context, pod *Pod, inspect *container.InspectResponse) ([]string, error)
	// TearDown releases everything SetUp made. Idempotent; must work with
	// netnsPath == "" (container gone, server restarted).
	TearDown(ctx context.Context, pod *Pod, netnsPath string) error
}

// Plugin names.
const (
	PluginDocker = "docker"
	PluginCNI    = "cni"
)

// Defaults for CNI mode, as the kubelet and containerd use them. Debian's
// containernetworking-plugins installs into /usr/lib/cni.
var (
	DefaultCNIBinDirs  = []string{"/opt/cni/bin", "/usr/lib/cni"}
	DefaultCNIConfDir  = "/etc/cni/net.d"
	DefaultCNICacheDir = "/var/lib/cni"
	// DefaultCNINetNSDir holds the pinned pod network namespaces. It is on
	// tmpfs on purpose: namespaces do not survive a reboot either.
	DefaultCNINetNSDir = "/run/dockerlet/netns"
)

// Config selects and configures the plugin.
type Config struct {
	Plugin string // "" or "docker": Docker's bridge (default); "cni": libcni

	// DockerNetwork is the Docker network sandboxes join in docker mode;
	// "" means Docker's default "bridge".
	DockerNetwork string

	CNIBinDirs  []string // "" → DefaultCNIBinDirs
	CNIConfDir  string   // "" → DefaultCNIConfDir
	CNICacheDir string   // "" → DefaultCNICacheDir
	// CNIIfName is the pod's interface name; "" means "eth0".
	CNIIfName string
	// CNINetNSDir is where pod network namespaces are pinned (bind
	// mounts) until TearDown; "" → DefaultCNINetNSDir.
	CNINetNSDir string
	// CNIMetrics receives every CNI ADD and DEL's outcome and duration;
	// nil: none.
	CNIMetrics CNIMetrics

	Logger *slog.Logger
}

// New returns the plugin cfg selects.
func New(eng engine.Engine, cfg Config) (Plugin, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch cfg.Plugin {
	case "", PluginDocker:
		if eng == nil {
			return nil, fmt.Errorf("network plugin %q needs an engine: %w", PluginDocker, errdefs.ErrInvalidArgument)
		}
		return newDocker(eng, cfg), nil
	case PluginCNI:
		return newCNI(cfg)
	default:
		return nil, fmt.Errorf("unknown network plugin %q (want %q or %q): %w",
			cfg.Plugin, PluginDocker, PluginCNI, errdefs.ErrInvalidArgument)
	}
}

// NotReadyError is what Status returns while the pod network is not ready.
// Reason and Message map onto the CRI NetworkReady condition.
type NotReadyError struct {
	Reason  string
	Message string
}

func (e *NotReadyError) Error() string { return e.Reason + ": " + e.Message }

// ReasonNotReady is the NetworkReady reason the kubelet knows.
const ReasonNotReady = "NetworkPluginNotReady"
