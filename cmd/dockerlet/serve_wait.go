package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/system"
)

// dockerInfoer is what waitForDocker needs of the engine.
type dockerInfoer interface {
	Info(ctx context.Context) (*system.Info, error)
}

const (
	dockerWaitMin = 100 * time.Millisecond
	dockerWaitMax = 5 * time.Second
)

// waitForDocker returns the daemon's info, waiting while the daemon is
// unavailable (not started yet, or restarting: dockerlet may be started
// or restarted during a dockerd restart and must come up when it does,
// as a kubelet expects). Other errors — a wrong endpoint scheme, refused
// credentials — fail at once.
func waitForDocker(ctx context.Context, eng dockerInfoer, logger *slog.Logger) (*system.Info, error) {
	backoff := dockerWaitMin
	for attempt := 1; ; attempt++ {
		info, err := eng.Info(ctx)
		if err == nil {
			if attempt > 1 {
				logger.Info("docker is available", "attempts", attempt)
			}
			return info, nil
		}
		if !errdefs.IsUnavailable(err) && !errdefs.IsDeadlineExceeded(err) {
			return nil, fmt.Errorf("docker info: %w", err)
		}
		if attempt == 1 || attempt%10 == 0 {
			logger.Warn("docker is not available; waiting for it", "err", err, "attempt", attempt)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("docker info: gave up waiting (%w): %w", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, dockerWaitMax)
	}
}
