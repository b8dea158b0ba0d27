package streaming

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// MaxExecSyncOutput is the most ExecSync keeps of each stream, the
// kubelet's limit; the rest is dropped, not an error.
const MaxExecSyncOutput = 16 << 20

// ExecSync runs cmd in the Docker container id and returns its output and
// exit code. With timeout > 0 a command still running at the deadline is
// killed (with its children) and the error wraps context.DeadlineExceeded,
// which is what kubelet probes expect.
func ExecSync(ctx context.Context, eng engine.Engine, containerID string, cmd []string, timeout time.Duration) (*runtimeapi.ExecSyncResponse, error) {
	return execSync(ctx, eng, containerID, cmd, timeout, killContainerProcess)
}

// killFunc kills the process tree of pid, which must belong to containerID.
type killFunc func(containerID string, pid int) error

func execSync(ctx context.Context, eng engine.Engine, containerID string, cmd []string, timeout time.Duration, kill killFunc) (*runtimeapi.ExecSyncResponse, error) {
	if len(cmd) == 0 {
		return nil, fmt.Errorf("exec sync: missing command: %w", errdefs.ErrInvalidArgument)
	}
	execID, err := eng.CreateExec(ctx, containerID, engine.ExecConfig{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, fmt.Errorf("create exec in container %s: %w", containerID, err)
	}

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	stdout, stderr := &cappedBuffer{max: MaxExecSyncOutput}, &cappedBuffer{max: MaxExecSyncOutput}
	startErr := eng.StartExec(runCtx, execID, engine.Streams{Stdout: stdout, Stderr: stderr})
	code, waitErr := 0, error(nil)
	if startErr == nil && runCtx.Err() == nil {
		// The output can end before the process does (it closed its
		// stdout and stderr): the deadline still holds.
		code, waitErr = waitExecExit(runCtx, eng, execID, 0)
	}

	if runCtx.Err() != nil {
		// Docker has no exec-kill API and the process outlives its stream:
		// kill it by its host PID, on a context of its own. This also runs
		// when the caller gave up first, so nothing is left behind.
		killCtx, cancelKill := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancelKill()
		why := fmt.Sprintf("timed out after %s", timeout)
		if !errors.Is(runCtx.Err(), context.DeadlineExceeded) || ctx.Err() != nil {
			why = "was cancelled"
		}
		if err := killExec(killCtx, eng, containerID, execID, kill); err != nil {
			return nil, fmt.Errorf("exec %q in container %s %s and could not be killed (%v): %w", cmd, containerID, why, err, runCtx.Err())
		}
		return nil, fmt.Errorf("exec %q in container %s %s: %w", cmd, containerID, why, runCtx.Err())
	}
	if startErr != nil {
		return nil, fmt.Errorf("exec in container %s: %w", containerID, startErr)
	}
	if waitErr != nil {
		return nil, waitErr
	}
	return &runtimeapi.ExecSyncResponse{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: int32(code)}, nil
}

// killExec kills a running exec's process tree and waits until Docker
// sees it gone.
func killExec(ctx context.Context, eng engine.Engine, containerID, execID string, kill killFunc) error {
	// An exec that has only just started can read as running with no pid
	// yet (Docker records it a moment later): ask again until it has one.
	var info *engine.ExecInspect
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		var err error
		info, err = eng.InspectExec(ctx, execID)
		if err != nil {
			return fmt.Errorf("inspect exec: %w", err)
		}
		if !info.Running {
			return nil
		}
		if info.Pid > 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("exec %s is running but has no pid: %w", execID, ctx.Err())
		case <-time.After(delay):
		}
	}
	if info.ContainerID != "" {
		containerID = info.ContainerID // the full id
	}
	if err := kill(containerID, info.Pid); err != nil {
		return err
	}
	_, err := waitExecExit(ctx, eng, execID, 0)
	return err
}

// cappedBuffer keeps the first max bytes written and drops the rest
// while reporting success, so the writer keeps draining the stream.
type cappedBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf
}
