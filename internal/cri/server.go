// Package cri is dockerlet's CRI v1 server: RuntimeService and ImageService
// over Docker Engine. Sandboxes are pause containers; a pod's containers join
// the sandbox's network, IPC and UTS namespaces (and PID when the pod shares
// it). All state lives in Docker labels plus small checkpoint files, so a
// restarted server sees everything it made.
//
// Handlers validate, then delegate; errors carry engine error kinds and are
// turned into gRPC codes once, in the interceptor.
package cri

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// DefaultPodInfraImage is the sandbox image when none is configured.
const DefaultPodInfraImage = "registry.k8s.io/pause:3.10"

// Config is everything the Service needs. Engine, RootDir, Network and
// Puller are required; the RPCs that need another collaborator that is
// missing answer codes.Unimplemented. internal/node builds it.
type Config struct {
	Engine        Engine
	Logger        *slog.Logger
	PodInfraImage string
	// RootDir holds the sandbox checkpoints.
	RootDir string
	// Mirrors maps a registry host (registry.k8s.io) to a mirror host
	// (127.0.0.1:5000) that pulls of that host go to.
	Mirrors map[string]string
	// MirrorCredentials sends a pull request's credentials, which are the
	// mirrored registry's, on to its mirror. Off, the mirror gets only the
	// node's credentials for the mirror's own host.
	MirrorCredentials bool
	// Version is dockerlet's own version, reported by Version.
	Version string
	// PlainLists switches the List fast path off (list_fast.go): every
	// List derives and encodes its items afresh.
	PlainLists bool

	Network   NetworkPlugin
	Streaming StreamingServer
	ExecSync  ExecSyncFunc
	Logs      LogManager
	Stats     StatsCollector
	Puller    ImagePuller
	Keyring   CredentialSource
}

// Service implements runtimeapi.RuntimeServiceServer and
// runtimeapi.ImageServiceServer.
type Service struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	cfg    Config
	eng    Engine
	namer  naming.Namer
	ckpt   *checkpointStore
	oomAdj oomPolicy
	caps   hostCaps

	// started is when this Service was made: what is older was made by an
	// earlier process, and only that is reconciled (see reconcile.go).
	started time.Time
	// rootDir is Config.RootDir made absolute: the owner label's value.
	rootDir string

	// relists are the last unfiltered List responses (list_memo.go).
	relists relistMemos
	// imageRefs spares ContainerStatus an image inspect per call.
	imageRefs imageRefMemo
	// drains remembers exited containers whose log drain timed out.
	drains drainMemo
	// locks serialises changes to one pod or container (idlock.go).
	locks idLocks

	mu      sync.Mutex
	podCIDR string
	facts   daemonFacts // cached docker info, see daemonFacts
}

// New returns a Service. It does not contact the engine.
func New(cfg Config) (*Service, error) {
	if cfg.Engine == nil || cfg.Network == nil || cfg.Puller == nil {
		return nil, fmt.Errorf("cri: Config.Engine, Network and Puller are required: %w", errdefs.ErrInvalidArgument)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PodInfraImage == "" {
		cfg.PodInfraImage = DefaultPodInfraImage
	}
	if cfg.RootDir == "" {
		return nil, fmt.Errorf("cri: Config.RootDir is required: %w", errdefs.ErrInvalidArgument)
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	rootDir, err := filepath.Abs(cfg.RootDir)
	if err != nil {
		return nil, fmt.Errorf("cri: root directory: %w", err)
	}
	ck, err := newCheckpointStore(rootDir)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:     cfg,
		eng:     cfg.Engine,
		namer:   naming.New(""),
		ckpt:    ck,
		started: time.Now(),
		rootDir: rootDir,
	}
	s.oomAdj = detectOOMPolicy(cfg.Logger)
	s.caps = detectHostCaps(cfg.Logger)
	return s, nil
}

// SandboxNetNS resolves a sandbox id to its network namespace path, or ""
// for a host-network pod. It is the streaming server's SandboxResolver.
func (s *Service) SandboxNetNS(ctx context.Context, sandboxID string) (string, error) {
	sb, err := s.resolveSandbox(ctx, sandboxID)
	if err != nil {
		return "", err
	}
	if sb.HostConfig != nil && sb.HostConfig.NetworkMode.IsHost() {
		return "", nil
	}
	if sb.State == nil || !sb.State.Running || sb.State.Pid == 0 {
		return "", fmt.Errorf("sandbox %s is not running: %w", sandboxID, errdefs.ErrFailedPrecondition)
	}
	return netnsPath(sb.State.Pid), nil
}

func netnsPath(pid int) string { return fmt.Sprintf("/proc/%d/ns/net", pid) }

// log returns the request-scoped logger the interceptor put in ctx.
func (s *Service) log(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return s.cfg.Logger
}

// rollbackTimeout bounds the clean-up of a failed RunPodSandbox.
const rollbackTimeout = 30 * time.Second

// nowNano is the CRI timestamp unit.
func nowNano() int64 { return time.Now().UnixNano() }

var (
	_ runtimeapi.RuntimeServiceServer = (*Service)(nil)
	_ runtimeapi.ImageServiceServer   = (*Service)(nil)
)
