// Package node wires a dockerlet CRI node, the one way every front end
// gets one: `dockerlet serve` (over gRPC), `dockerlet play` (in process),
// the e2e suite and the CRI package's own tests (over the fake engine).
//
//	Docker engine (client or fake)
//	  → metrics (counts and times what reaches Docker)
//	  → state cache (List/Inspect from memory, change feed)
//	  → collaborators: network, streaming, logs, stats, puller, keyring
//	  → cri.Service → gRPC server, or the in-process client
package node

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/system"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/adopt"
	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/crilog"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/image"
	"github.com/dockerlet/dockerlet/internal/keyring"
	"github.com/dockerlet/dockerlet/internal/metrics"
	"github.com/dockerlet/dockerlet/internal/naming"
	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/stats"
	"github.com/dockerlet/dockerlet/internal/streaming"
)

// DefaultCacheSyncWait bounds the wait for the state cache's first sync.
const DefaultCacheSyncWait = 10 * time.Second

// maxMsgSize is the gRPC message limit both ways (a List of many pods).
const maxMsgSize = 16 << 20

// Options is what a front end chooses; New builds the rest.
type Options struct {
	// Engine is Docker: an engine.Client, or the fake in tests. Required.
	Engine engine.Engine
	Logger *slog.Logger
	// Metrics receives the engine's, the cache's and the gRPC server's
	// figures; nil: a private set nobody serves.
	Metrics *metrics.Metrics

	// RootDir holds the sandbox checkpoints and names this node's objects
	// (the owner label). Required.
	RootDir       string
	PodInfraImage string
	Mirrors       map[string]string
	// MirrorCredentials: see cri.Config.MirrorCredentials.
	MirrorCredentials bool
	Version           string
	Network           network.Config
	// Streaming starts the exec/attach/port-forward server; nil: none
	// (those RPCs answer Unimplemented).
	Streaming *streaming.Config
	// CacheSyncWait bounds the wait for the cache's first sync (default
	// DefaultCacheSyncWait): a daemon that hangs on one container must
	// not keep the node from serving; until synced the cache answers from
	// the engine.
	CacheSyncWait time.Duration

	// PlainLists switches the List fast path off (cri.Config.PlainLists).
	PlainLists bool
	// DockerInfo is Docker's info as the caller read it (serve waits for
	// Docker with it): the stats collector's cgroup driver and root
	// directory. nil: New asks Docker.
	DockerInfo *system.Info

	// AdoptCRIDockerd is cri-dockerd's root directory
	// (--cri-dockerd-root-directory) whose running pods this node adopts
	// (internal/adopt); "": none. AdoptCNICacheDir is the CNI cache
	// directory cri-dockerd used ("": its default).
	AdoptCRIDockerd  string
	AdoptCNICacheDir string

	// Stand-ins for tests; nil: the real collaborator.
	Stats         cri.StatsCollector
	Logs          cri.LogManager
	NetworkPlugin cri.NetworkPlugin
}

// Node is a wired CRI node.
type Node struct {
	// Service is the CRI service; serve it with GRPCServer, call it in
	// process through InProcess.
	Service *cri.Service
	// Engine is the cache over the instrumented engine, which every
	// collaborator shares.
	Engine  *cache.Cache
	Metrics *metrics.Metrics
	Keyring *keyring.Keyring
	Network cri.NetworkPlugin
	// Adopted is what was adopted from cri-dockerd (nil unless
	// Options.AdoptCRIDockerd was set).
	Adopted *adopt.Set
	// Streaming is nil unless Options.Streaming was set.
	Streaming *streaming.Server

	logger *slog.Logger
	closes []func()
}

// New builds a node. It waits (up to CacheSyncWait) for the cache's first
// sync; it asks Docker for its cgroup driver and root directory (for
// stats) unless Options.DockerInfo has them or Options.Stats stands in.
func New(ctx context.Context, o Options) (_ *Node, retErr error) {
	if o.Engine == nil {
		return nil, fmt.Errorf("node: an engine is required: %w", errdefs.ErrInvalidArgument)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(o.Version)
	}
	if o.CacheSyncWait <= 0 {
		o.CacheSyncWait = DefaultCacheSyncWait
	}
	n := &Node{Metrics: o.Metrics, logger: o.Logger}
	defer func() {
		if retErr != nil {
			n.Close()
		}
	}()

	// Metrics measure Docker itself; the cache above them answers List and
	// Inspect from memory, so every collaborator shares it. It holds only
	// this node's objects: another server's on the same engine are none of
	// its business.
	owner, err := cri.OwnerLabelFilter(o.RootDir)
	if err != nil {
		return nil, err
	}
	eng := o.Metrics.WrapEngine(o.Engine)
	if o.AdoptCRIDockerd != "" {
		// Below the cache, so that the cache holds the adopted objects as
		// dockerlet's and its relists cost what they always do.
		set, err := adopt.Scan(ctx, eng, adopt.Options{
			RootDir: o.AdoptCRIDockerd, Owner: o.RootDir, CNICacheDir: o.AdoptCNICacheDir, Logger: o.Logger,
		})
		if err != nil {
			return nil, err
		}
		n.Adopted = set
		eng = set.Wrap(eng)
	}
	syncCtx, cancel := context.WithTimeout(ctx, o.CacheSyncWait)
	c, err := cache.New(syncCtx, eng, cache.Options{Logger: o.Logger, Metrics: o.Metrics, LabelFilter: owner, IndexLabel: naming.LabelSandboxID})
	cancel()
	if err != nil {
		return nil, err
	}
	n.Engine = c
	n.closes = append(n.closes, func() { _ = c.Close() })

	cfg := cri.Config{
		Engine: c, Logger: o.Logger, PodInfraImage: o.PodInfraImage, RootDir: o.RootDir,
		Mirrors: o.Mirrors, MirrorCredentials: o.MirrorCredentials, Version: o.Version, ExecSync: streaming.ExecSync,
		PlainLists: o.PlainLists,
		Network:    o.NetworkPlugin, Logs: o.Logs, Stats: o.Stats,
		Puller: image.NewPuller(c, o.Logger),
	}
	if cfg.Network == nil {
		netCfg := o.Network
		netCfg.Logger = o.Logger
		if netCfg.CNIMetrics == nil {
			netCfg.CNIMetrics = o.Metrics
		}
		if cfg.Network, err = network.New(c, netCfg); err != nil {
			return nil, err
		}
	}
	n.Network = cfg.Network
	// Before serving, as Reconcile: cri-dockerd's sandboxes whose
	// container is gone are not listed, so their network goes now.
	n.Adopted.ReleaseOrphans(ctx, cfg.Network)
	if cfg.Logs == nil {
		logs := crilog.NewManager(c, o.Logger)
		n.closes = append(n.closes, logs.Close)
		cfg.Logs = logs
	}
	if cfg.Stats == nil {
		info := o.DockerInfo
		if info == nil {
			if info, err = c.Info(ctx); err != nil {
				return nil, fmt.Errorf("docker info: %w", err)
			}
		}
		var statsOpts []stats.Option
		if snap := engine.Snapshotter(info); snap != "" {
			// Docker's containerd image store: images and layers are the
			// snapshotter's.
			statsOpts = append(statsOpts, stats.WithImageDir(engine.SnapshotterDir(info.DockerRootDir, snap)))
		}
		collector, err := stats.NewCollector(info.CgroupDriver, info.DockerRootDir, o.Logger, statsOpts...)
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		n.closes = append(n.closes, collector.Close)
		cfg.Stats = collector
	}
	// The node's credentials, for pulls (the sandbox image included).
	n.Keyring = keyring.New(o.Logger)
	if err := n.Keyring.AddDefaultDockerConfig(); err != nil {
		o.Logger.Warn("reading the node's Docker config failed; pulls go without its credentials", "err", err)
	}
	cfg.Keyring = n.Keyring

	// The streaming server resolves sandboxes through the CRI service,
	// which in turn hands it exec/attach/port-forward requests.
	resolver := &sandboxResolver{}
	if o.Streaming != nil {
		sc := *o.Streaming
		if sc.Logger == nil {
			sc.Logger = o.Logger
		}
		srv, err := streaming.New(c, resolver, sc)
		if err != nil {
			return nil, fmt.Errorf("streaming server: %w", err)
		}
		n.closes = append(n.closes, func() { _ = srv.Close() })
		n.Streaming, cfg.Streaming = srv, srv
	}
	if n.Service, err = cri.New(cfg); err != nil {
		return nil, err
	}
	resolver.svc.Store(n.Service)
	return n, nil
}

// GRPCServer returns a gRPC server with the node's CRI services
// registered behind the gate (cri.Interceptors), the metrics outermost so
// that they see the final code.
func (n *Node) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	all := append(n.Metrics.ServerOptions(), cri.Interceptors(n.logger)...)
	all = append(all, grpc.MaxRecvMsgSize(maxMsgSize), grpc.MaxSendMsgSize(maxMsgSize))
	srv := grpc.NewServer(append(all, opts...)...)
	runtimeapi.RegisterRuntimeServiceServer(srv, n.Service)
	runtimeapi.RegisterImageServiceServer(srv, n.Service)
	return srv
}

// InProcess returns the service behind the same gate, for callers in this
// process (play).
func (n *Node) InProcess() *cri.InProcess { return n.Service.InProcess(n.logger) }

// Close releases what New made, in reverse order. The engine is the
// caller's.
func (n *Node) Close() {
	for i := len(n.closes) - 1; i >= 0; i-- {
		n.closes[i]()
	}
	n.closes = nil
}

// sandboxResolver lets the streaming server, built before the CRI service,
// ask the service for a sandbox's network namespace.
type sandboxResolver struct {
	svc atomic.Pointer[cri.Service]
}

func (r *sandboxResolver) SandboxNetNS(ctx context.Context, sandboxID string) (string, error) {
	s := r.svc.Load()
	if s == nil {
		return "", fmt.Errorf("CRI service not ready: %w", errdefs.ErrUnavailable)
	}
	return s.SandboxNetNS(ctx, sandboxID)
}
