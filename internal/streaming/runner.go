package streaming

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// execExitWait bounds how long a streaming exec whose output has ended
// waits for its process to exit before the session ends with an error.
const execExitWait = 10 * time.Second

// runner runs streaming sessions on the engine.
type runner struct {
	eng       engine.Engine
	sandboxes SandboxResolver
	log       *slog.Logger
	life      context.Context // ends when the server closes
	kill      killFunc
}

// bind derives a context that also ends when the server closes.
func (r *runner) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(r.life, cancel)
	return ctx, func() { stop(); cancel() }
}

// Exec runs cmd in the container attached to the session's streams. A
// non-zero exit comes back as a utilexec.ExitError, which the protocol
// handlers turn into the client's exit code.
func (r *runner) Exec(ctx context.Context, containerID string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	ctx, cancel := r.bind(ctx)
	defer cancel()

	streams := sessionStreams(in, out, errw, tty)
	execID, err := r.eng.CreateExec(ctx, containerID, engine.ExecConfig{
		Cmd:          cmd,
		TTY:          tty,
		AttachStdin:  streams.Stdin != nil,
		AttachStdout: streams.Stdout != nil,
		AttachStderr: streams.Stderr != nil,
	})
	if err != nil {
		return fmt.Errorf("create exec in container %s: %w", containerID, err)
	}
	if tty && resize != nil {
		go r.resizeLoop(ctx, resize, func(ctx context.Context, h, w uint) error {
			return r.eng.ResizeExecTTY(ctx, execID, h, w)
		})
	}
	if err := r.eng.StartExec(ctx, execID, streams); err != nil {
		if ctx.Err() != nil {
			// The session ended (client gone, server closing) with the
			// process still running: nobody can reach it any more.
			r.killOrphan(containerID, execID)
		}
		return fmt.Errorf("exec in container %s: %w", containerID, err)
	}
	code, err := waitExecExit(ctx, r.eng, execID, execExitWait)
	if err != nil {
		if ctx.Err() != nil {
			r.killOrphan(containerID, execID)
		}
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// Attach connects the session's streams to the container's main process.
func (r *runner) Attach(ctx context.Context, containerID string, in io.Reader, out, errw io.WriteCloser, _ bool, resize <-chan remotecommand.TerminalSize) error {
	ctx, cancel := r.bind(ctx)
	defer cancel()

	// Docker's output framing follows the container's own TTY setting,
	// whatever the request says.
	info, err := r.eng.InspectContainer(ctx, containerID)
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", containerID, err)
	}
	tty := info.Config != nil && info.Config.Tty
	streams := sessionStreams(in, out, errw, tty)
	if tty && resize != nil {
		go r.resizeLoop(ctx, resize, func(ctx context.Context, h, w uint) error {
			return r.eng.ResizeContainerTTY(ctx, containerID, h, w)
		})
	}
	if err := r.eng.AttachContainer(ctx, containerID, streams); err != nil {
		return fmt.Errorf("attach to container %s: %w", containerID, err)
	}
	return nil
}

// sessionStreams wires a session's streams to the engine. A TTY merges
// stderr into stdout, so the session's stderr stays unused then.
func sessionStreams(in io.Reader, out, errw io.WriteCloser, tty bool) engine.Streams {
	streams := engine.Streams{TTY: tty, Stdin: in, Stdout: out}
	if !tty {
		streams.Stderr = errw
	}
	return streams
}

// killOrphan kills an exec whose session is gone, if it still runs.
func (r *runner) killOrphan(containerID, execID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := killExec(ctx, r.eng, containerID, execID, r.kill); err != nil {
		r.log.Warn("could not kill the process of an ended exec session", "container", containerID, "exec", execID, "err", err)
	}
}

// resizeLoop applies terminal sizes until the channel closes or ctx ends.
// Docker refuses to resize an exec that has not started yet, and the
// client sends its first size at once, so a failed resize is retried
// briefly.
func (r *runner) resizeLoop(ctx context.Context, sizes <-chan remotecommand.TerminalSize, apply func(ctx context.Context, height, width uint) error) {
	const attempts = 40
	var last remotecommand.TerminalSize
	for {
		var size remotecommand.TerminalSize
		select {
		case <-ctx.Done():
			return
		case s, ok := <-sizes:
			if !ok {
				return
			}
			size = s
		}
		if size.Width == 0 || size.Height == 0 || size == last {
			continue
		}
		for i := 1; ; i++ {
			err := apply(ctx, uint(size.Height), uint(size.Width))
			if err == nil {
				last = size
				break
			}
			if i == attempts || ctx.Err() != nil {
				r.log.Debug("terminal resize failed", "height", size.Height, "width", size.Width, "err", err)
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(25 * time.Millisecond):
			}
		}
	}
}

// waitExecExit returns the exit code of an exec whose output has ended.
// Docker may report it running for a moment after its streams close. It
// gives up after limit (0: when ctx ends).
func waitExecExit(ctx context.Context, eng engine.Engine, execID string, limit time.Duration) (int, error) {
	delay := 5 * time.Millisecond
	var deadline time.Time
	if limit > 0 {
		deadline = time.Now().Add(limit)
	}
	for {
		info, err := eng.InspectExec(ctx, execID)
		if err != nil {
			return 0, fmt.Errorf("inspect exec %s: %w", execID, err)
		}
		if !info.Running {
			return info.ExitCode, nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return 0, fmt.Errorf("exec %s still running %s after its output ended: %w", execID, limit, context.DeadlineExceeded)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for exec %s: %w", execID, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}
