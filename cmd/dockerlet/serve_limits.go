package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/metrics"
	"github.com/dockerlet/dockerlet/internal/netlimit"
	"github.com/dockerlet/dockerlet/internal/streaming"
)

// listenerLimits bound serve's listeners (internal/netlimit): a flood of
// connections on one of them must not take the memory or the open files
// the others — the CRI socket first — need.
type listenerLimits struct {
	criMaxConns       int
	criMaxStreams     int
	criIdle           time.Duration
	streamingMaxConns int
	metricsMaxConns   int
	pprofMaxConns     int
	httpIdle          time.Duration
	httpRequest       time.Duration
}

func (l *listenerLimits) addFlags(fs *pflag.FlagSet) {
	// High: clients such as critest open a connection per test and never
	// close it; the idle timeout closes those.
	fs.IntVar(&l.criMaxConns, "cri-max-connections", 1024, "connections the CRI socket keeps open at once; more are closed at once")
	fs.IntVar(&l.criMaxStreams, "cri-max-concurrent-streams", 1000, "calls in flight at once on one CRI connection; more wait")
	fs.DurationVar(&l.criIdle, "cri-connection-idle-timeout", 2*time.Minute, "close a CRI connection with no call in flight for this long (clients reconnect)")
	fs.IntVar(&l.streamingMaxConns, "streaming-max-connections", streaming.DefaultMaxConns, "connections the exec/attach/port-forward listener keeps open at once (one per session); more are closed at once")
	fs.IntVar(&l.metricsMaxConns, "metrics-max-connections", metrics.DefaultMaxConns, "connections the metrics listener keeps open at once")
	fs.IntVar(&l.pprofMaxConns, "debug-pprof-max-connections", pprofMaxConns, "connections the pprof listener keeps open at once")
	fs.DurationVar(&l.httpIdle, "http-idle-timeout", netlimit.DefaultIdleTimeout, "streaming, metrics and pprof listeners: close a connection that sends no request for this long (its first, or its next)")
	fs.DurationVar(&l.httpRequest, "http-request-timeout", netlimit.DefaultReadTimeout, "streaming, metrics and pprof listeners: bound on reading a request and on writing its answer (a streaming session, once started, has its own idle timeout)")
}

// fit raises the open-file limit to its hard limit and fits the caps of
// the listeners that are on within half of it: the other half is for
// Docker's connections, the log copiers' files, checkpoints and CNI.
func (l *listenerLimits) fit(logger *slog.Logger, metricsOn, pprofOn bool) {
	nofile, err := netlimit.OpenFiles()
	if err != nil {
		logger.Warn("cannot read the open-file limit; listener caps as given", "err", err)
		return
	}
	metricsWant, pprofWant := 0, 0
	if metricsOn {
		metricsWant = l.metricsMaxConns
	}
	if pprofOn {
		pprofWant = l.pprofMaxConns
	}
	caps := netlimit.Share(nofile/netlimit.ListenerShare, l.criMaxConns, l.streamingMaxConns, metricsWant, pprofWant)
	if caps[0] != l.criMaxConns || caps[1] != l.streamingMaxConns || caps[2] != metricsWant || caps[3] != pprofWant {
		logger.Warn("open-file limit is low: listener caps lowered to half of it", "open_files", nofile,
			"cri", caps[0], "streaming", caps[1], "metrics", caps[2], "pprof", caps[3])
	}
	l.criMaxConns, l.streamingMaxConns = caps[0], caps[1]
	if metricsOn {
		l.metricsMaxConns = caps[2]
	}
	if pprofOn {
		l.pprofMaxConns = caps[3]
	}
	logger.Debug("listener limits", "open_files", nofile, "cri", l.criMaxConns, "streaming", l.streamingMaxConns,
		"metrics", l.metricsMaxConns, "pprof", l.pprofMaxConns)
}

// http bounds an HTTP listener with the given cap.
func (l *listenerLimits) http(maxConns int) netlimit.HTTP {
	return netlimit.HTTP{MaxConns: maxConns, IdleTimeout: l.httpIdle, ReadTimeout: l.httpRequest, WriteTimeout: l.httpRequest}
}

// grpcOptions bound the CRI server: calls in flight per connection, the
// HTTP/2 handshake, idle connections, and clients' keepalive pings (a
// client pinging more often than every 10 s is sent away, as gRPC's own
// enforcement does with its 5-minute default).
func (l *listenerLimits) grpcOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(uint32(max(l.criMaxStreams, 1))),
		grpc.ConnectionTimeout(30 * time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: l.criIdle}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
}

// callDeadline bounds every unary CRI call on the server's side as the
// kubelet bounds it on its own: the request timeout (twice it for
// RunPodSandbox), plus what the call itself asks for (a stop's grace
// period, an exec's or checkpoint's timeout). Waits inside a call — for another call on the same container,
// for Docker — end with it, DeadlineExceeded, rather than pile up behind a
// hung daemon. Pulls have no such bound (the kubelet sets none; the
// progress deadline bounds them), nor does an ExecSync without a timeout.
func callDeadline(requestTimeout time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if d, ok := callBudget(req, requestTimeout); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return handler(ctx, req)
	}
}

func callBudget(req any, requestTimeout time.Duration) (time.Duration, bool) {
	seconds := func(s int64) time.Duration {
		return time.Duration(min(max(s, 0), 1<<31-1)) * time.Second
	}
	switch r := req.(type) {
	case *runtimeapi.PullImageRequest:
		return 0, false
	case *runtimeapi.RunPodSandboxRequest:
		return 2 * requestTimeout, true // the kubelet's own: twice, it may pull the sandbox image
	case *runtimeapi.StopContainerRequest:
		return requestTimeout + seconds(r.GetTimeout()), true
	case *runtimeapi.ExecSyncRequest:
		if r.GetTimeout() <= 0 {
			return 0, false
		}
		return requestTimeout + seconds(r.GetTimeout()), true
	case *runtimeapi.CheckpointContainerRequest:
		return requestTimeout + seconds(r.GetTimeout()), true
	}
	return requestTimeout, true
}
