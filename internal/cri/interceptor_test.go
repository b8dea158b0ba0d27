package cri

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func TestCodeMapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{fmt.Errorf("x: %w", errdefs.ErrNotFound), codes.NotFound},
		{fmt.Errorf("x: %w", errdefs.ErrInvalidArgument), codes.InvalidArgument},
		{fmt.Errorf("x: %w", errdefs.ErrAlreadyExists), codes.AlreadyExists},
		{fmt.Errorf("x: %w", errdefs.ErrConflict), codes.FailedPrecondition},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{fmt.Errorf("x: %w", engine.ErrPullStalled), codes.DeadlineExceeded},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{fmt.Errorf("x: %w", errdefs.ErrUnavailable), codes.Unavailable},
		{fmt.Errorf("x: %w", engine.ErrRegistryUnavailable), codes.Unavailable},
		{fmt.Errorf("x: %w", errdefs.ErrUnauthenticated), codes.Unauthenticated},
		{fmt.Errorf("x: %w", errdefs.ErrNotImplemented), codes.Unimplemented},
		{errors.New("anything else"), codes.Internal},
		{status.Error(codes.Aborted, "chosen"), codes.Aborted},
	} {
		if got := status.Code(toStatus(tc.err)); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestInterceptorRecoversPanics(t *testing.T) {
	ic := (&gate{log: slog.New(slog.DiscardHandler)}).unary
	info := &grpc.UnaryServerInfo{FullMethod: "/runtime.v1.RuntimeService/RunPodSandbox"}
	_, err := ic(context.Background(), nil, info, func(ctx context.Context, req any) (any, error) {
		var m map[string]int
		m["boom"]++ //nolint:staticcheck // a nil map write: the panic under test
		return nil, nil
	})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panic became %v, want Internal", err)
	}
	_, err = ic(context.Background(), nil, info, func(ctx context.Context, req any) (any, error) {
		if _, ok := ctx.Value(loggerKey{}).(*slog.Logger); !ok {
			t.Error("no request logger in the handler's context")
		}
		return nil, fmt.Errorf("gone: %w", errdefs.ErrNotFound)
	})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("error became %v, want NotFound", err)
	}
}
