package engine

import (
	"context"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// CreateExec implements Engine.
func (c *Client) CreateExec(ctx context.Context, containerID string, cfg ExecConfig) (string, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	if len(cfg.Cmd) == 0 {
		return "", classify("create exec in "+containerID, errInvalid("no command specified"))
	}
	r, err := c.api.ExecCreate(ctx, containerID, client.ExecCreateOptions{
		User:         cfg.User,
		Privileged:   cfg.Privileged,
		TTY:          cfg.TTY,
		AttachStdin:  cfg.AttachStdin,
		AttachStdout: cfg.AttachStdout,
		AttachStderr: cfg.AttachStderr,
		Env:          cfg.Env,
		WorkingDir:   cfg.WorkingDir,
		Cmd:          cfg.Cmd,
	})
	if err != nil {
		return "", classify("create exec in "+containerID, err)
	}
	return r.ID, nil
}

// StartExec implements Engine: it starts the exec attached to streams and
// returns when the process's output ends, or ctx ends.
func (c *Client) StartExec(ctx context.Context, execID string, s Streams) error {
	op := "start exec " + execID
	// The handshake is a short call; the stream that follows is bounded by
	// ctx only (moby does not tie the hijacked connection to hctx).
	hctx, cancel := c.short(ctx)
	hr, err := c.api.ExecAttach(hctx, execID, client.ExecAttachOptions{TTY: s.TTY})
	cancel()
	if err != nil {
		return classify(op, err)
	}
	return classify(op, pump(ctx, hr.HijackedResponse, s))
}

// InspectExec implements Engine.
func (c *Client) InspectExec(ctx context.Context, execID string) (*ExecInspect, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	r, err := c.api.ExecInspect(ctx, execID, client.ExecInspectOptions{})
	if err != nil {
		return nil, classify("inspect exec "+execID, err)
	}
	return &ExecInspect{ID: r.ID, ContainerID: r.ContainerID, Running: r.Running, ExitCode: r.ExitCode, Pid: r.PID}, nil
}

// ResizeExecTTY implements Engine.
func (c *Client) ResizeExecTTY(ctx context.Context, execID string, height, width uint) error {
	ctx, cancel := c.short(ctx)
	defer cancel()
	_, err := c.api.ExecResize(ctx, execID, client.ExecResizeOptions{Height: height, Width: width})
	return classify("resize exec "+execID, err)
}

// AttachContainer implements Engine: it streams until the container's
// output ends or ctx ends. The end of s.Stdin is passed on as a half-close:
// Docker then closes the container's stdin when it was created with
// StdinOnce, and otherwise ends the attach session.
func (c *Client) AttachContainer(ctx context.Context, id string, s Streams) error {
	op := "attach container " + id
	hctx, cancel := c.short(ctx)
	hr, err := c.api.ContainerAttach(hctx, id, client.ContainerAttachOptions{
		Stream: true,
		Stdin:  s.Stdin != nil,
		Stdout: s.Stdout != nil,
		Stderr: s.Stderr != nil,
	})
	cancel()
	if err != nil {
		return classify(op, err)
	}
	return classify(op, pump(ctx, hr.HijackedResponse, s))
}

// pump copies a hijacked connection to and from s until the output ends
// or ctx ends. Without a TTY the output is demultiplexed with stdcopy.
// Stdin is copied in the background and half-closed at its EOF; a stdin
// that never returns from Read outlives the call by one goroutine.
func pump(ctx context.Context, hr client.HijackedResponse, s Streams) error {
	defer hr.Close()
	if s.Stdin != nil {
		go func() {
			_, _ = io.Copy(hr.Conn, s.Stdin)
			_ = hr.CloseWrite()
		}()
	}
	done := make(chan error, 1)
	go func() {
		stdout, stderr := orDiscard(s.Stdout), orDiscard(s.Stderr)
		var err error
		if s.TTY {
			_, err = io.Copy(stdout, hr.Reader)
		} else {
			_, err = stdcopy.StdCopy(stdout, stderr, hr.Reader)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		hr.Close() // unblocks the output copy
		<-done     //nolint:errcheck // ended by the close: ctx's error is the answer
		return ctx.Err()
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
