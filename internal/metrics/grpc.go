package metrics

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor counts and times unary calls by method and final
// gRPC code. Chain it first (outermost) so that it sees the code the
// client gets.
func (m *Metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var resp any
		err := m.observeRPC(info.FullMethod, func() (err error) {
			resp, err = handler(ctx, req)
			return err
		})
		return resp, err
	}
}

// StreamServerInterceptor counts streams by method and final code and
// records their lifetime.
func (m *Metrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return m.observeRPC(info.FullMethod, func() error { return handler(srv, ss) })
	}
}

// observeRPC runs one call or stream, counted in flight, timed, and
// counted by its final gRPC code.
func (m *Metrics) observeRPC(fullMethod string, call func() error) error {
	method := shortMethod(fullMethod)
	g := m.rpcInFlight.WithLabelValues(method)
	g.Inc()
	start := time.Now()
	err := call()
	m.rpcDuration.WithLabelValues(method).Observe(time.Since(start).Seconds())
	g.Dec()
	m.rpcs.WithLabelValues(method, status.Code(err).String()).Inc()
	return err
}

// ServerOptions returns both interceptors as grpc.ServerOptions; pass them
// before the other interceptors' options.
func (m *Metrics) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(m.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(m.StreamServerInterceptor()),
	}
}

// shortMethod turns "/runtime.v1.RuntimeService/ListContainers" into
// "ListContainers": CRI method names are unique across its two services.
func shortMethod(full string) string {
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[i+1:]
	}
	return full
}
