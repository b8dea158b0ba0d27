package cri

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type loggerKey struct{}

// invalidf returns an error classified as InvalidArgument.
func invalidf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
}

// notFoundf returns an error classified as NotFound.
func notFoundf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errdefs.ErrNotFound)...)
}

// unimplementedf returns an error classified as Unimplemented.
func unimplementedf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errdefs.ErrNotImplemented)...)
}

// gate is the one way into the Service, for requests from a socket (the
// gRPC interceptors) and from this process (InProcess) alike, unary and
// streaming: a request-scoped logger, the request's checks (admit: it
// decoded, validateRequest) before its handler runs, panic recovery, and
// errors mapped to gRPC status codes. Handlers trust what it admitted.
type gate struct {
	log   *slog.Logger
	codec *requestCodec // nil in process: nothing is decoded
}

// call runs h for method with the request-scoped logger in its ctx; a
// panic in h is Internal, h's error a gRPC status.
func (g *gate) call(ctx context.Context, fullMethod string, h func(context.Context) (any, error)) (resp any, err error) {
	method := shortMethod(fullMethod)
	l := g.log.With("rpc", method, "req", requestID())
	ctx = context.WithValue(ctx, loggerKey{}, l)
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			l.Error("panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, err = nil, status.Errorf(codes.Internal, "%s: internal error: %v", method, p)
		}
		logDone(l, fullMethod, start, resp, err)
	}()
	resp, err = h(ctx)
	if err != nil {
		err = toStatus(err)
	}
	return resp, err
}

// admit checks a request before its handler sees it: it decoded, and it
// is valid (validateRequest). Bad input is InvalidArgument here, before it
// reaches a handler or the engine.
func (g *gate) admit(ctx context.Context, req any) error {
	if err := g.codec.decodeError(req); err != nil {
		return toStatus(err)
	}
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l.Enabled(ctx, slog.LevelDebug) {
		// Formatting a request costs more than a List handler.
		l.Debug("request", "body", compactRequest(req))
	}
	if err := validateRequest(req); err != nil {
		return toStatus(err)
	}
	return nil
}

// Interceptors returns the server options that put the gate in front of a
// gRPC server; a request that does not even decode is InvalidArgument too
// (requestCodec).
func Interceptors(logger *slog.Logger) []grpc.ServerOption {
	g := &gate{log: logger, codec: newRequestCodec()}
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(g.codec),
		grpc.ChainUnaryInterceptor(g.unary),
		grpc.ChainStreamInterceptor(g.stream),
	}
}

func (g *gate) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return g.call(ctx, info.FullMethod, func(ctx context.Context) (any, error) {
		if err := g.admit(ctx, req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	})
}

// stream gates a server-streaming RPC: its one request is admitted as it
// is received (ctxStream.RecvMsg), before the handler sees it.
func (g *gate) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	_, err := g.call(ss.Context(), info.FullMethod, func(ctx context.Context) (any, error) {
		return nil, handler(srv, &ctxStream{ServerStream: ss, ctx: ctx, g: g})
	})
	return err
}

func requestID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func shortMethod(full string) string {
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[i+1:]
	}
	return full
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
	g   *gate
}

func (c *ctxStream) Context() context.Context { return c.ctx }

// RecvMsg admits a streaming RPC's request as the unary path does.
func (c *ctxStream) RecvMsg(m any) error {
	if err := c.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return c.g.admit(c.ctx, m)
}

// quiet are the RPCs a kubelet calls every second; they log at debug level.
var quiet = map[string]bool{
	runtimeapi.RuntimeService_Version_FullMethodName:             true,
	runtimeapi.RuntimeService_Status_FullMethodName:              true,
	runtimeapi.RuntimeService_ListPodSandbox_FullMethodName:      true,
	runtimeapi.RuntimeService_ListContainers_FullMethodName:      true,
	runtimeapi.ImageService_ListImages_FullMethodName:            true,
	runtimeapi.ImageService_ImageFsInfo_FullMethodName:           true,
	runtimeapi.RuntimeService_ListContainerStats_FullMethodName:  true,
	runtimeapi.RuntimeService_ListPodSandboxStats_FullMethodName: true,
	runtimeapi.RuntimeService_ContainerStatus_FullMethodName:     true,
	runtimeapi.RuntimeService_PodSandboxStatus_FullMethodName:    true,
	runtimeapi.ImageService_ImageStatus_FullMethodName:           true,
	runtimeapi.RuntimeService_ContainerStats_FullMethodName:      true,
	runtimeapi.RuntimeService_PodSandboxStats_FullMethodName:     true,
}

func logDone(l *slog.Logger, fullMethod string, start time.Time, resp any, err error) {
	attrs := []any{"took", time.Since(start).Round(time.Microsecond)}
	if err != nil {
		st, _ := status.FromError(err)
		level := slog.LevelWarn
		if st.Code() == codes.Internal || st.Code() == codes.Unknown {
			level = slog.LevelError
		}
		if st.Code() == codes.NotFound && quiet[fullMethod] {
			level = slog.LevelDebug
		}
		l.Log(context.Background(), level, "failed", append(attrs, "code", st.Code().String(), "err", st.Message())...)
		return
	}
	if n, ok := listCount(resp); ok {
		attrs = append(attrs, "count", n)
	}
	level := slog.LevelInfo
	if quiet[fullMethod] {
		level = slog.LevelDebug
	}
	l.Log(context.Background(), level, "done", attrs...)
}

// listCount gives the item count of a List response, which is logged instead
// of the body.
func listCount(resp any) (int, bool) {
	switch r := resp.(type) {
	case *runtimeapi.ListPodSandboxResponse:
		return len(r.Items), true
	case *runtimeapi.ListContainersResponse:
		return len(r.Containers), true
	case *runtimeapi.ListImagesResponse:
		return len(r.Images), true
	case *runtimeapi.ListContainerStatsResponse:
		return len(r.Stats), true
	case *runtimeapi.ListPodSandboxStatsResponse:
		return len(r.Stats), true
	}
	return 0, false
}

// compactRequest keeps credentials out of the log and bodies short.
func compactRequest(req any) any {
	switch r := req.(type) {
	case *runtimeapi.PullImageRequest:
		return "image=" + r.GetImage().GetImage()
	case *runtimeapi.CreateContainerRequest:
		// Environment values come from Secrets, and the kubelet (or play)
		// has already expanded $(VAR) references to them in the command
		// and arguments: env names and argument counts only.
		cfg := r.GetConfig()
		if len(cfg.GetEnvs()) > 0 || len(cfg.GetCommand()) > 0 || len(cfg.GetArgs()) > 0 {
			c := proto.Clone(r).(*runtimeapi.CreateContainerRequest)
			for _, kv := range c.Config.Envs {
				if kv != nil {
					kv.Value = []byte("<redacted>")
				}
			}
			c.Config.Command = redactAll(c.Config.Command)
			c.Config.Args = redactAll(c.Config.Args)
			r = c
		}
		return compactString(r.String())
	case interface{ String() string }:
		return compactString(r.String())
	}
	return req
}

// redactAll replaces every element, keeping the count.
func redactAll(in []string) []string {
	for i := range in {
		in[i] = "<redacted>"
	}
	return in
}

func compactString(s string) string {
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}

// toStatus maps an error to its gRPC status (errgrpc: the errdefs kind's
// code). An error of no kind is Internal: nothing leaves as Unknown.
func toStatus(err error) error {
	err = errgrpc.ToGRPC(err)
	st, _ := status.FromError(err)
	if st.Code() != codes.Unknown {
		return err
	}
	return status.Error(codes.Internal, st.Message())
}
