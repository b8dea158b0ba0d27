package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/dockerlet/dockerlet/internal/metrics"
)

// servePprof serves net/http/pprof on addr (a bare port binds 127.0.0.1)
// until ctx ends. It is opt-in (--debug-pprof-addr) and separate from the
// metrics listener: profiles expose memory contents, so they are never on
// by default and never on the metrics port.
func servePprof(ctx context.Context, addr string, logger *slog.Logger) (string, error) {
	addr, err := metrics.ListenAddr(addr)
	if err != nil {
		return "", fmt.Errorf("--debug-pprof-addr: %w", err)
	}
	lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("pprof server stopped", "err", err)
		}
	}()
	bound := lis.Addr().String()
	logger.Warn("serving pprof (debugging only)", "addr", "http://"+bound+"/debug/pprof/")
	return bound, nil
}
