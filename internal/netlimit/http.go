package netlimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// HTTP bounds one HTTP listener. Zero fields take the defaults below.
type HTTP struct {
	// MaxConns is the cap of connections open at once.
	MaxConns int
	// IdleTimeout bounds a connection without a request in flight: the wait
	// for its first request's headers, and between requests.
	IdleTimeout time.Duration
	// ReadTimeout bounds reading a whole request, WriteTimeout writing its
	// response. A handler that takes the connection over for a long
	// session (exec, port-forward: hijacked) is no longer bound by them:
	// net/http clears the deadlines on hijack.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
}

// Defaults of HTTP's fields.
const (
	DefaultMaxConns     = 64
	DefaultIdleTimeout  = 30 * time.Second
	DefaultReadTimeout  = 30 * time.Second
	DefaultWriteTimeout = 30 * time.Second
)

// WithDefaults fills the zero fields.
func (h HTTP) WithDefaults() HTTP {
	if h.MaxConns <= 0 {
		h.MaxConns = DefaultMaxConns
	}
	if h.IdleTimeout <= 0 {
		h.IdleTimeout = DefaultIdleTimeout
	}
	if h.ReadTimeout <= 0 {
		h.ReadTimeout = DefaultReadTimeout
	}
	if h.WriteTimeout <= 0 {
		h.WriteTimeout = DefaultWriteTimeout
	}
	return h
}

// Server returns an http.Server for handler bounded by h's timeouts (the
// cap is the listener's: Limit). Request headers are bounded to 64 KiB.
func (h HTTP) Server(handler http.Handler, log *slog.Logger) *http.Server {
	h = h.WithDefaults()
	if log == nil {
		log = slog.Default()
	}
	return &http.Server{
		Handler: handler,
		// A connection's first request must come within the idle timeout,
		// as every later one must (IdleTimeout).
		ReadHeaderTimeout: min(h.IdleTimeout, h.ReadTimeout),
		ReadTimeout:       h.ReadTimeout,
		WriteTimeout:      h.WriteTimeout,
		IdleTimeout:       h.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Serve listens on addr (TCP) and serves handler bounded by h in the
// background until ctx ends. It returns the bound address. name is the
// listener's name in the log.
func Serve(ctx context.Context, addr string, h HTTP, handler http.Handler, name string, log *slog.Logger) (string, error) {
	if log == nil {
		log = slog.Default()
	}
	h = h.WithDefaults()
	lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s listener: %w", name, err)
	}
	srv := h.Server(handler, log)
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(Limit(lis, h.MaxConns, name, log)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("server stopped", "listener", name, "err", err)
		}
	}()
	return lis.Addr().String(), nil
}
