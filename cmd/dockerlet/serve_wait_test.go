package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

func TestWaitForDockerWaitsWhileUnavailable(t *testing.T) {
	f := fake.New()
	f.InjectPersistentError("Info", fmt.Errorf("dial: %w", errdefs.ErrUnavailable))
	go func() {
		time.Sleep(300 * time.Millisecond)
		f.ClearError("Info")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := waitForDocker(ctx, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || info == nil {
		t.Fatalf("waitForDocker = %v, %v; want the info once the daemon answers", info, err)
	}
}

func TestWaitForDockerFailsFastOnOtherErrors(t *testing.T) {
	f := fake.New()
	f.InjectPersistentError("Info", fmt.Errorf("tls: %w", errdefs.ErrUnauthenticated))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := waitForDocker(ctx, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errdefs.IsUnauthorized(err) || ctx.Err() != nil {
		t.Fatalf("err = %v; want Unauthenticated at once", err)
	}
}

func TestWaitForDockerStopsWithContext(t *testing.T) {
	f := fake.New()
	f.InjectPersistentError("Info", fmt.Errorf("dial: %w", errdefs.ErrUnavailable))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := waitForDocker(ctx, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.Is(err, context.DeadlineExceeded) || !errdefs.IsUnavailable(err) {
		t.Fatalf("err = %v; want the deadline and the last engine error", err)
	}
}
