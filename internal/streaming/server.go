// Package streaming serves exec, attach and port-forward sessions for the
// CRI: Get* hand out absolute, single-use, expiring URLs; the HTTP server
// behind them speaks the Kubernetes streaming protocols (SPDY and
// WebSocket) through k8s.io/cri-streaming and runs the sessions on the
// Docker engine.
package streaming

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/netlimit"
)

// Config for the streaming server.
type Config struct {
	Addr     string        // host:port to bind; "" means "127.0.0.1:0" (free port)
	TokenTTL time.Duration // 0 means 1 minute
	Logger   *slog.Logger

	// BaseURL, when set, is the scheme://host:port the URLs point at (a
	// proxy or the node's address). By default it is the bound address.
	BaseURL string
	// IdleTimeout closes a session with no traffic; 0 means 4 hours (the kubelet's default).
	IdleTimeout time.Duration
	// StreamCreationTimeout bounds how long a SPDY client may take to open its streams; 0 means 30s.
	StreamCreationTimeout time.Duration
	// Limits bound the listener: connections open at once (0 means
	// DefaultMaxConns), the wait for a request and between requests, and
	// reading and answering one. A session, once its URL is redeemed, is
	// bounded by IdleTimeout instead.
	Limits netlimit.HTTP
}

// DefaultMaxConns caps the streaming listener's connections: each
// exec/attach/port-forward session holds one (and one to Docker).
const DefaultMaxConns = 256

// SandboxResolver resolves a CRI sandbox id to the path of its network
// namespace (e.g. /proc/<pid>/ns/net), or "" for a host-network pod.
// Supplied by the CRI server.
type SandboxResolver interface {
	SandboxNetNS(ctx context.Context, sandboxID string) (string, error)
}

// Server is the streaming server. It serves in the background from New until Close.
type Server struct {
	cfg      Config
	log      *slog.Logger
	rt       *runner
	tokens   *tokenCache
	base     *url.URL
	listener net.Listener
	http     *http.Server
	// ctx ends on Close so that running sessions (whose hijacked
	// connections http.Server.Close does not touch) end too.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// New binds the listener and serves in the background.
func New(eng engine.Engine, sandboxes SandboxResolver, cfg Config) (*Server, error) {
	if eng == nil {
		return nil, fmt.Errorf("streaming: nil engine: %w", errdefs.ErrInvalidArgument)
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Minute
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 4 * time.Hour
	}
	if cfg.StreamCreationTimeout <= 0 {
		cfg.StreamCreationTimeout = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "streaming")

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("streaming: listen on %q: %w", cfg.Addr, err)
	}
	base, err := baseURL(cfg.BaseURL, ln.Addr())
	if err != nil {
		ln.Close()
		return nil, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:      cfg,
		log:      log,
		rt:       &runner{eng: eng, sandboxes: sandboxes, log: log, life: ctx, kill: killContainerProcess},
		tokens:   newTokenCache(cfg.TokenTTL, time.Now),
		base:     base,
		listener: ln,
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	if cfg.Limits.MaxConns <= 0 {
		cfg.Limits.MaxConns = DefaultMaxConns
	}
	s.cfg.Limits = cfg.Limits.WithDefaults()
	s.http = s.cfg.Limits.Server(s.routes(), log)
	s.http.BaseContext = func(net.Listener) context.Context { return ctx }
	limited := netlimit.Limit(ln, s.cfg.Limits.MaxConns, "streaming", log)
	go func() {
		defer close(s.done)
		if err := s.http.Serve(limited); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("streaming server stopped", "err", err)
		}
	}()
	log.Info("streaming server listening", "addr", ln.Addr().String(), "url", base.String(),
		"max_connections", s.cfg.Limits.MaxConns, "idle_timeout", s.cfg.Limits.IdleTimeout)
	return s, nil
}

// Close stops the listener and ends running sessions.
func (s *Server) Close() error {
	s.cancel()
	err := s.http.Close()
	<-s.done
	return err
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// GetExec returns the absolute URL of an exec session.
func (s *Server) GetExec(req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if err := validateStreams("exec", req.GetContainerId(), req.GetTty(), req.GetStdin(), req.GetStdout(), req.GetStderr()); err != nil {
		return nil, err
	}
	if len(req.GetCmd()) == 0 {
		return nil, fmt.Errorf("exec: missing command: %w", errdefs.ErrInvalidArgument)
	}
	u, err := s.url("exec", req)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ExecResponse{Url: u}, nil
}

// GetAttach returns the absolute URL of an attach session.
func (s *Server) GetAttach(req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if err := validateStreams("attach", req.GetContainerId(), req.GetTty(), req.GetStdin(), req.GetStdout(), req.GetStderr()); err != nil {
		return nil, err
	}
	u, err := s.url("attach", req)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.AttachResponse{Url: u}, nil
}

// GetPortForward returns the absolute URL of a port-forward session.
func (s *Server) GetPortForward(req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if req.GetPodSandboxId() == "" {
		return nil, fmt.Errorf("port-forward: missing pod sandbox id: %w", errdefs.ErrInvalidArgument)
	}
	for _, p := range req.GetPort() {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("port-forward: invalid port %d: %w", p, errdefs.ErrInvalidArgument)
		}
	}
	u, err := s.url("portforward", req)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PortForwardResponse{Url: u}, nil
}

func validateStreams(op, containerID string, tty, stdin, stdout, stderr bool) error {
	switch {
	case containerID == "":
		return fmt.Errorf("%s: missing container id: %w", op, errdefs.ErrInvalidArgument)
	case tty && stderr:
		// A TTY merges the output into one stream.
		return fmt.Errorf("%s: tty and stderr cannot both be set: %w", op, errdefs.ErrInvalidArgument)
	case !stdin && !stdout && !stderr:
		return fmt.Errorf("%s: one of stdin, stdout or stderr must be set: %w", op, errdefs.ErrInvalidArgument)
	}
	return nil
}

func (s *Server) url(kind string, req any) (string, error) {
	token, err := s.tokens.insert(req)
	if err != nil {
		return "", err
	}
	return s.base.JoinPath(kind, token).String(), nil
}

// baseURL makes the absolute URL prefix: the override, or the bound
// address, with an unspecified host replaced by an address clients can dial.
func baseURL(override string, addr net.Addr) (*url.URL, error) {
	if override != "" {
		u, err := url.Parse(override)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("streaming: base URL %q must be absolute (scheme://host:port): %w", override, errdefs.ErrInvalidArgument)
		}
		return u, nil
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return nil, fmt.Errorf("streaming: unexpected listener address %v", addr)
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = advertiseIP()
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))}, nil
}

// advertiseIP picks the first global unicast IPv4 address of an up
// interface (what a client on another host can reach), falling back to
// loopback. IPv4 serves both a 0.0.0.0 and a dual-stack [::] listener.
func advertiseIP() net.IP {
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || !ipn.IP.IsGlobalUnicast() || ipn.IP.To4() == nil {
				continue
			}
			return ipn.IP
		}
	}
	return net.IPv4(127, 0, 0, 1)
}
