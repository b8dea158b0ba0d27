package cri

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

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
	info := &grpc.UnaryServerInfo{FullMethod: runtimeapi.RuntimeService_RunPodSandbox_FullMethodName}
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

// The kubelet's once-a-second calls log at debug level, and so does their
// NotFound (a pod removed since the relist); any other call logs at info.
func TestPollingCallsLogQuietly(t *testing.T) {
	var buf bytes.Buffer
	g := &gate{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	ok := func(context.Context) (any, error) { return &runtimeapi.ListContainersResponse{}, nil }
	gone := func(context.Context) (any, error) { return nil, fmt.Errorf("gone: %w", errdefs.ErrNotFound) }
	ctx := context.Background()
	g.call(ctx, runtimeapi.RuntimeService_ListContainers_FullMethodName, ok)
	g.call(ctx, runtimeapi.RuntimeService_ContainerStatus_FullMethodName, gone)
	g.call(ctx, runtimeapi.ImageService_ImageFsInfo_FullMethodName, ok)
	if buf.Len() != 0 {
		t.Errorf("polling calls logged at info level:\n%s", buf.String())
	}
	g.call(ctx, runtimeapi.RuntimeService_RunPodSandbox_FullMethodName, ok)
	g.call(ctx, runtimeapi.RuntimeService_StopContainer_FullMethodName, gone)
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Errorf("%d lines for a RunPodSandbox and a failed StopContainer, want 2:\n%s", n, buf.String())
	}
}
