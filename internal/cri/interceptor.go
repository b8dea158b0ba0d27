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

// Interceptors returns the server options that make the one gRPC boundary:
// request-scoped logging, panic recovery and error→code mapping.
// Every request is validated (validateRequest) before its handler runs; a
// request that does not even decode is InvalidArgument too (requestCodec).
func Interceptors(logger *slog.Logger) []grpc.ServerOption {
	codec := newRequestCodec()
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(codec),
		grpc.ChainUnaryInterceptor(unaryInterceptor(logger, codec)),
		grpc.ChainStreamInterceptor(streamInterceptor(logger, codec)),
	}
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

func unaryInterceptor(base *slog.Logger, codec *requestCodec) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		method := shortMethod(info.FullMethod)
		l := base.With("rpc", method, "req", requestID())
		ctx = context.WithValue(ctx, loggerKey{}, l)
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				l.Error("panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				resp, err = nil, status.Errorf(codes.Internal, "%s: internal error: %v", method, p)
			}
			logDone(l, method, start, resp, err)
		}()
		if err := codec.decodeError(req); err != nil {
			return nil, toStatus(err)
		}
		if l.Enabled(ctx, slog.LevelDebug) { // formatting a request costs more than a List handler
			l.Debug("request", "body", compactRequest(req))
		}
		if err := validateRequest(req); err != nil {
			return nil, toStatus(err)
		}
		resp, err = handler(ctx, req)
		if err != nil {
			err = toStatus(err)
		}
		return resp, err
	}
}

func streamInterceptor(base *slog.Logger, codec *requestCodec) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		method := shortMethod(info.FullMethod)
		l := base.With("rpc", method, "req", requestID())
		ctx := context.WithValue(ss.Context(), loggerKey{}, l)
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				l.Error("panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "%s: internal error: %v", method, p)
			}
			logDone(l, method, start, nil, err)
		}()
		err = handler(srv, &ctxStream{ServerStream: ss, ctx: ctx, codec: codec})
		if err != nil {
			err = toStatus(err)
		}
		return err
	}
}

type ctxStream struct {
	grpc.ServerStream
	ctx   context.Context
	codec *requestCodec
}

func (c *ctxStream) Context() context.Context { return c.ctx }

// RecvMsg validates a streaming RPC's request as the unary interceptor
// does.
func (c *ctxStream) RecvMsg(m any) error {
	if err := c.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if err := c.codec.decodeError(m); err != nil {
		return toStatus(err)
	}
	if err := validateRequest(m); err != nil {
		return toStatus(err)
	}
	return nil
}

// quiet are the RPCs a kubelet calls every second; they log at debug level.
var quiet = map[string]bool{
	"Version": true, "Status": true, "ListPodSandbox": true, "ListContainers": true, "ListImages": true,
	"ImageFsInfo": true, "ListContainerStats": true, "ListPodSandboxStats": true, "ContainerStatus": true,
	"PodSandboxStatus": true, "ImageStatus": true, "ContainerStats": true, "PodSandboxStats": true,
}

func logDone(l *slog.Logger, method string, start time.Time, resp any, err error) {
	attrs := []any{"took", time.Since(start).Round(time.Microsecond)}
	if err != nil {
		st, _ := status.FromError(err)
		level := slog.LevelWarn
		if st.Code() == codes.Internal || st.Code() == codes.Unknown {
			level = slog.LevelError
		}
		if st.Code() == codes.NotFound && quiet[method] {
			level = slog.LevelDebug
		}
		l.Log(context.Background(), level, "failed", append(attrs, "code", st.Code().String(), "err", st.Message())...)
		return
	}
	if n, ok := listCount(resp); ok {
		attrs = append(attrs, "count", n)
	}
	level := slog.LevelInfo
	if quiet[method] {
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
