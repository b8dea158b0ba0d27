package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/containerd/errdefs"

	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/crilog"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/image"
	"github.com/dockerlet/dockerlet/internal/keyring"
	"github.com/dockerlet/dockerlet/internal/netlimit"
	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/streaming"
)

// runtimeOptions is what a front end (serve or play) chooses of the CRI
// service it runs; newRuntime wires the rest the same way for both, so that
// the two can never drift apart.
type runtimeOptions struct {
	engine        engine.Engine
	logger        *slog.Logger
	podInfraImage string
	rootDir       string
	mirrors       map[string]string
	// mirrorCredentials: see cri.Config.MirrorCredentials.
	mirrorCredentials bool
	network           network.Config
	cniBinDir         string // comma-separated; "" means the plugin's defaults
	stats             cri.StatsCollector
	// streaming starts the exec/attach/port-forward server on streamingAddr.
	streaming       bool
	streamingAddr   string
	streamingLimits netlimit.HTTP
}

// runtimeParts is the wired CRI service and the collaborators a front end
// still needs to reach.
type runtimeParts struct {
	svc     *cri.Service
	logs    *crilog.Manager
	keyring *keyring.Keyring
	network network.Plugin
	closes  []func()
}

// Close releases the parts in reverse order of their making.
func (p *runtimeParts) Close() {
	for i := len(p.closes) - 1; i >= 0; i-- {
		p.closes[i]()
	}
}

func newRuntime(o runtimeOptions) (_ *runtimeParts, retErr error) {
	p := &runtimeParts{}
	defer func() {
		if retErr != nil {
			p.Close()
		}
	}()
	netCfg := o.network
	netCfg.Logger = o.logger
	if o.cniBinDir != "" {
		netCfg.CNIBinDirs = strings.Split(o.cniBinDir, ",")
	}
	netPlugin, err := network.New(o.engine, netCfg)
	if err != nil {
		return nil, err
	}
	p.network = netPlugin
	p.logs = crilog.NewManager(o.engine, o.logger)
	p.closes = append(p.closes, p.logs.Close)

	// The node's credentials, for pulls (the sandbox image included).
	p.keyring = keyring.New(o.logger)
	if err := p.keyring.AddDefaultDockerConfig(); err != nil {
		o.logger.Warn("reading the node's Docker config failed; pulls go without its credentials", "err", err)
	}
	cfg := cri.Config{
		Engine: o.engine, Logger: o.logger, PodInfraImage: o.podInfraImage, RootDir: o.rootDir,
		Mirrors: o.mirrors, MirrorCredentials: o.mirrorCredentials, Version: version, Network: netPlugin, Logs: p.logs, Stats: o.stats, Keyring: p.keyring,
		Puller: image.NewPuller(o.engine, o.logger), ExecSync: streaming.ExecSync,
	}
	// The streaming server resolves sandboxes through the CRI service,
	// which in turn hands it exec/attach/port-forward requests.
	resolver := &sandboxResolver{}
	if o.streaming {
		srv, err := streaming.New(o.engine, resolver, streaming.Config{Addr: o.streamingAddr, Logger: o.logger, Limits: o.streamingLimits})
		if err != nil {
			return nil, fmt.Errorf("streaming server: %w", err)
		}
		p.closes = append(p.closes, func() { _ = srv.Close() })
		cfg.Streaming = srv
	}
	if p.svc, err = cri.New(cfg); err != nil {
		return nil, err
	}
	resolver.set(p.svc)
	return p, nil
}

// sandboxResolver lets the streaming server, built before the CRI service,
// ask the service for a sandbox's network namespace.
type sandboxResolver struct {
	svc atomic.Pointer[cri.Service]
}

func (r *sandboxResolver) set(s *cri.Service) { r.svc.Store(s) }

func (r *sandboxResolver) SandboxNetNS(ctx context.Context, sandboxID string) (string, error) {
	s := r.svc.Load()
	if s == nil {
		return "", fmt.Errorf("CRI service not ready: %w", errdefs.ErrUnavailable)
	}
	return s.SandboxNetNS(ctx, sandboxID)
}
