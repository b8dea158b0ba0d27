package cri

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/keyring"
	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/stats"
)

// The Service's collaborators, owned here as small interfaces so that the
// packages implementing them (internal/network, internal/streaming,
// internal/crilog, internal/stats, internal/image) never import internal/cri.

// PodNetwork describes a pod to the network plugin; it is persisted in the
// sandbox checkpoint so that TearDown works after a restart.
type PodNetwork = network.Pod

// NetworkPlugin gives sandboxes their network (internal/network).
type NetworkPlugin = network.Plugin

// StreamingServer serves exec, attach and port-forward sessions.
type StreamingServer interface {
	GetExec(req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error)
	GetAttach(req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error)
	GetPortForward(req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error)
}

// ExecSyncFunc runs cmd in a Docker container and collects its output.
type ExecSyncFunc func(ctx context.Context, eng engine.Engine, containerID string, cmd []string, timeout time.Duration) (*runtimeapi.ExecSyncResponse, error)

// LogManager copies container output into CRI log files.
type LogManager interface {
	// StartIn copies the container's output to path, which lies inside
	// root (the pod's log directory) and must never be resolved out of it.
	StartIn(ctx context.Context, containerID, root, path string) error
	Drain(ctx context.Context, containerID string) error
	Reopen(ctx context.Context, containerID string) error
	Stop(containerID string)
}

// StatsCollector reads container and pod statistics. Its methods take the
// refs built by statsRefs (see stats.go).
type StatsCollector interface {
	ContainerStats(ctx context.Context, ref ContainerStatsRef) (*runtimeapi.ContainerStats, error)
	PodSandboxStats(ctx context.Context, ref SandboxStatsRef) (*runtimeapi.PodSandboxStats, error)
	MetricDescriptors() []*runtimeapi.MetricDescriptor
	PodSandboxMetrics(ctx context.Context, ref SandboxStatsRef) (*runtimeapi.PodSandboxMetrics, error)
	ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error)
	// Forget drops what is cached about a removed container.
	Forget(containerID string)
}

// ContainerStatsRef and SandboxStatsRef are internal/stats' views.
type (
	ContainerStatsRef = stats.ContainerRef
	SandboxStatsRef   = stats.SandboxRef
)

// ImagePuller pulls an image, trying each credential in turn (anonymous
// when there is none), and returns the pulled image's id.
type ImagePuller interface {
	Pull(ctx context.Context, ref string, creds []keyring.Credential, progress func(engine.Progress)) (string, error)
}

// CredentialSource finds the node's credentials for an image (its Docker
// config, credential helpers).
type CredentialSource interface {
	Lookup(image string) ([]keyring.Credential, error)
}

// Engine is Docker as the Service reads it: through the state cache
// (internal/engine/cache), whose copy-free reads answer the List RPCs,
// whose change feed is GetContainerEvents and whose sync state is proof
// that the daemon answers (Status).
type Engine interface {
	engine.Engine
	// ListShared and InspectShared return the cache's own snapshots:
	// shared with every other caller and read-only (see cache.Shared).
	ListShared(ctx context.Context, opts engine.ListOptions) ([]*cache.Shared, error)
	InspectShared(ctx context.Context, id string) (*container.InspectResponse, error)
	// Subscribe streams changes, each after the cache holds the new state.
	Subscribe(ctx context.Context) <-chan cache.Change
	// Synced is true while the cache's event stream from the daemon is
	// up and its state current.
	Synced() bool
}
