package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"k8s.io/klog/v2"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/open"
	"github.com/dockerlet/dockerlet/internal/metrics"
	"github.com/dockerlet/dockerlet/internal/netlimit"
	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/node"
	"github.com/dockerlet/dockerlet/internal/streaming"
)

func init() {
	register("serve", command{summary: "run the CRI server (kubelet, crictl and critest talk to it)", run: runServe})
}

// serveFlags are named as cri-dockerd's, so that it drops in.
type serveFlags struct {
	endpoint          string
	dockerEndpoint    string
	podInfraImage     string
	requestTimeout    time.Duration
	pullDeadline      time.Duration
	networkPlugin     string
	cniBinDir         string
	cniConfDir        string
	cniCacheDir       string
	cniNetNSDir       string
	dockerNetwork     string
	rootDir           string
	streamingAddr     string
	logLevel          string
	logFormat         string
	mirrors           map[string]string
	mirrorCredentials bool
	plainMirrors      []string // mirrors named by an http:// URL
	gracefulStopBound time.Duration
	metricsAddr       string
	socketGroup       string
	pprofAddr         string
	limits            listenerLimits
	criDockerd        criDockerdFlags
	// networkWhy says why the network plugin is cni when no
	// --network-plugin was given (cri-dockerd's default); "" otherwise.
	networkWhy string
}

func parseServeFlags(args []string) (*serveFlags, error) {
	f := &serveFlags{mirrors: map[string]string{}}
	fs := cli.NewFlagSet("serve", "[flags]")
	fs.StringVar(&f.endpoint, "container-runtime-endpoint", "unix:///var/run/dockerlet.sock", "CRI endpoint: unix://PATH, or fd:// for systemd socket activation")
	fs.StringVar(&f.dockerEndpoint, "docker-endpoint", "", "Docker endpoint (default: DOCKER_HOST or unix:///var/run/docker.sock; fake:// for the in-memory engine)")
	fs.StringVar(&f.podInfraImage, "pod-infra-container-image", cri.DefaultPodInfraImage, "image of the sandbox (pause) containers")
	fs.DurationVar(&f.requestTimeout, "runtime-request-timeout", 2*time.Minute, "timeout of every engine request except pulls, logs and exec")
	fs.DurationVar(&f.pullDeadline, "image-pull-progress-deadline", time.Minute, "cancel a pull that makes no progress for this long")
	fs.StringVar(&f.networkPlugin, "network-plugin", "", `pod network: "docker" (Docker's bridge) or "cni" (default docker; cni when a --cni-* flag or one of cri-dockerd's own flags is given, as cri-dockerd defaults to cni)`)
	fs.StringVar(&f.dockerNetwork, "docker-network", "", `Docker network the sandboxes join in docker mode (default "bridge")`)
	fs.StringVar(&f.cniBinDir, "cni-bin-dir", "", "CNI plugin directories, comma-separated (default /opt/cni/bin, then /usr/lib/cni)")
	fs.StringVar(&f.cniConfDir, "cni-conf-dir", "", "CNI configuration directory (default /etc/cni/net.d)")
	fs.StringVar(&f.cniCacheDir, "cni-cache-dir", "", "CNI cache directory (default /var/lib/cni)")
	fs.StringVar(&f.cniNetNSDir, "cni-netns-dir", "", "where cni mode pins pod network namespaces until teardown (default /run/dockerlet/netns)")
	fs.StringVar(&f.rootDir, "root-directory", "/var/lib/dockerlet", "directory for sandbox checkpoints")
	fs.StringVar(&f.streamingAddr, "streaming-bind-addr", "", "host:port of the exec/attach/port-forward server (default 127.0.0.1 on a free port)")
	fs.StringVar(&f.socketGroup, "socket-group", "", "group (name or gid) that owns the CRI socket; its members may use it (default: root's)")
	fs.StringVar(&f.metricsAddr, "metrics-bind-addr", "", "PORT or HOST:PORT of the Prometheus /metrics listener (a bare port binds 127.0.0.1; default off)")
	fs.StringVar(&f.pprofAddr, "debug-pprof-addr", "", "PORT or HOST:PORT of a net/http/pprof listener for profiling (a bare port binds 127.0.0.1; default off)")
	f.limits.addFlags(fs)
	f.criDockerd.addFlags(fs)
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text (key=value) or json (one object a line)")
	fs.DurationVar(&f.gracefulStopBound, "shutdown-timeout", 10*time.Second, "how long a SIGTERM waits for running calls")
	fs.Func("registry-mirror", "HOST=URL: pull HOST/... from the mirror at URL and tag it under the requested name (repeatable)", func(v string) error {
		host, mirror, ok := strings.Cut(v, "=")
		if !ok || host == "" || mirror == "" {
			return fmt.Errorf("want HOST=URL, got %q", v)
		}
		m, err := mirrorHost(mirror)
		if err != nil {
			return err
		}
		f.mirrors[host] = m
		if strings.HasPrefix(strings.ToLower(mirror), "http://") {
			f.plainMirrors = append(f.plainMirrors, mirror)
		}
		return nil
	})
	fs.BoolVar(&f.mirrorCredentials, "registry-mirror-credentials", false, "send a pull request's credentials, which are for the mirrored registry, on to its mirror (default: the mirror gets only the node's credentials for the mirror's own host)")
	if err := cli.Parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	f.criDockerd.afterParse(fs)
	set := map[string]bool{}
	fs.Visit(func(fl *pflag.Flag) { set[fl.Name] = true })
	if !set["network-plugin"] {
		f.networkPlugin, f.networkWhy = defaultNetworkPlugin(set)
	}
	if f.mirrorCredentials && len(f.plainMirrors) > 0 {
		return nil, fmt.Errorf("--registry-mirror-credentials with the plain-HTTP mirror %s: the registry's credentials would cross the network in clear text", f.plainMirrors[0])
	}
	return f, nil
}

// mirrorHost reduces a mirror URL (http://127.0.0.1:5000, or a bare
// host:port) to the host[:port][/path] Docker pulls from.
func mirrorHost(v string) (string, error) {
	if !strings.Contains(v, "://") {
		return strings.TrimSuffix(v, "/"), nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("registry mirror %q: not a URL", v)
	}
	return u.Host + strings.TrimSuffix(u.Path, "/"), nil
}

func runServe(ctx context.Context, args []string) error {
	f, err := parseServeFlags(args)
	if err != nil {
		return err
	}
	if f.criDockerd.version || f.criDockerd.buildInfo {
		printOwnVersion(os.Stdout)
		return nil
	}
	logger, err := cli.NewLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	f.criDockerd.warn(logger)
	f.criDockerd.warnUnadopted(logger)
	if f.networkWhy != "" {
		logger.Warn("--network-plugin not given: using cni, as cri-dockerd would; --network-plugin docker for Docker's bridge", "why", f.networkWhy)
	}
	defer ignoreHangups(logger)()
	f.limits.fit(logger, f.metricsAddr != "", f.pprofAddr != "")
	tuneGC(logger)
	tuneProcs(logger)
	go trimHeap(ctx, logger, trimEvery)
	// The streaming library logs through klog; send it to the same place.
	klog.SetSlogLogger(logger)
	eng, closeEngine, err := open.Engine(f.dockerEndpoint, engine.Options{
		RequestTimeout: f.requestTimeout, PullProgressDeadline: f.pullDeadline, Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("docker endpoint: %w", err)
	}
	defer func() { _ = closeEngine() }()
	// Docker may be down (starting, restarting): wait for it rather than
	// exit, so that a restart of dockerlet during a dockerd restart heals.
	info, err := waitForDocker(ctx, eng, logger)
	if err != nil {
		return err
	}

	mtr := metrics.New(version)
	if f.metricsAddr != "" {
		if _, err := mtr.Serve(ctx, f.metricsAddr, f.limits.http(f.limits.metricsMaxConns), logger); err != nil {
			return err
		}
	}
	if f.pprofAddr != "" {
		if _, err := servePprof(ctx, f.pprofAddr, f.limits.http(f.limits.pprofMaxConns), logger); err != nil {
			return err
		}
	} else {
		disableHeapProfiling()
	}
	opts := node.Options{
		Engine: eng, DockerInfo: info, Logger: logger, Metrics: mtr, Version: version,
		RootDir: f.rootDir, PodInfraImage: f.podInfraImage, Mirrors: f.mirrors, MirrorCredentials: f.mirrorCredentials,
		Network: network.Config{
			Plugin: f.networkPlugin, DockerNetwork: f.dockerNetwork, CNIBinDirs: cli.SplitList(f.cniBinDir),
			CNIConfDir: f.cniConfDir, CNICacheDir: f.cniCacheDir, CNINetNSDir: f.cniNetNSDir,
		},
		Streaming: &streaming.Config{Addr: f.streamingAddr, Limits: f.limits.http(f.limits.streamingMaxConns)},
		// cri-dockerd's flags are the same: its --cni-cache-dir is ours.
		AdoptCNICacheDir: f.cniCacheDir,
	}
	if f.criDockerd.adopt {
		opts.AdoptCRIDockerd = f.criDockerd.rootDir
	}
	n, err := node.New(ctx, opts)
	if err != nil {
		return err
	}
	defer n.Close()
	svc := n.Service

	lis, err := listen(f.endpoint, f.socketGroup)
	if err != nil {
		return err
	}
	lis = netlimit.Limit(lis, f.limits.criMaxConns, "cri", logger)
	srv := n.GRPCServer(append(f.limits.grpcOptions(), grpc.ChainUnaryInterceptor(callDeadline(f.requestTimeout)))...)

	// Roll back what a crash of the previous process left half-done before
	// any client can see it.
	svc.Reconcile(ctx)
	go svc.Resume(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	logger.Info("dockerlet serving CRI", "endpoint", f.endpoint, "version", version, "network", n.Network.Name())
	_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)

	select {
	case err := <-errc:
		return fmt.Errorf("grpc server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(f.gracefulStopBound):
		logger.Warn("calls still running after the shutdown timeout; stopping them")
		srv.Stop()
	}
	return nil
}
