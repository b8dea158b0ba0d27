package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/dockerlet/dockerlet/internal/metrics"
	"github.com/dockerlet/dockerlet/internal/netlimit"
)

// pprofMaxConns caps the pprof listener's connections: it is for one
// person debugging.
const pprofMaxConns = 4

// servePprof serves net/http/pprof on addr (a bare port binds 127.0.0.1)
// until ctx ends. It is opt-in (--debug-pprof-addr) and separate from the
// metrics listener: profiles expose memory contents, so they are never on
// by default and never on the metrics port.
func servePprof(ctx context.Context, addr string, lim netlimit.HTTP, logger *slog.Logger) (string, error) {
	addr, err := metrics.ListenAddr(addr)
	if err != nil {
		return "", fmt.Errorf("--debug-pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if lim.MaxConns <= 0 {
		lim.MaxConns = pprofMaxConns
	}
	// A CPU profile or trace answers after its ?seconds= (30 s by default):
	// the answer may take that long, and pprof refuses a longer one.
	lim.WriteTimeout = max(lim.WriteTimeout, 5*time.Minute)
	bound, err := netlimit.Serve(ctx, addr, lim, mux, "pprof", logger)
	if err != nil {
		return "", err
	}
	logger.Warn("serving pprof (debugging only)", "addr", "http://"+bound+"/debug/pprof/", "max_connections", lim.MaxConns)
	return bound, nil
}
