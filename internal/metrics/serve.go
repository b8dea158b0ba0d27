package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dockerlet/dockerlet/internal/netlimit"
)

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ListenAddr normalises a --metrics-bind-addr value: a bare port ("9090"
// or ":9090") binds to 127.0.0.1 only; host:port is taken as given.
func ListenAddr(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("metrics address is empty")
	}
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		return net.JoinHostPort("127.0.0.1", addr), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("metrics address %q: want PORT or HOST:PORT: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("metrics address %q: bad port %q", addr, port)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// DefaultMaxConns caps the metrics listener's connections (a scraper
// holds one).
const DefaultMaxConns = 16

// Serve binds addr (see ListenAddr) and serves /metrics in the background
// until ctx ends, bounded by lim (a zero MaxConns is DefaultMaxConns). It
// returns the bound address, or the bind error at once. Only metrics are
// exposed: no configuration, credentials or pprof.
func (m *Metrics) Serve(ctx context.Context, addr string, lim netlimit.HTTP, logger *slog.Logger) (string, error) {
	if logger == nil {
		logger = slog.Default()
	}
	addr, err := ListenAddr(addr)
	if err != nil {
		return "", err
	}
	if lim.MaxConns <= 0 {
		lim.MaxConns = DefaultMaxConns
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	bound, err := netlimit.Serve(ctx, addr, lim, mux, "metrics", logger)
	if err != nil {
		return "", err
	}
	logger.Info("serving metrics", "addr", "http://"+bound+"/metrics", "max_connections", lim.MaxConns)
	return bound, nil
}
