package fake

import (
	"context"
	"encoding/binary"
	"io"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// ContainerLogs implements engine.Engine. Like Docker, a container without
// a TTY yields a multiplexed stream (read it with stdcopy.StdCopy), a TTY
// container one raw stream. Tail applies per stream; Timestamps, Since and
// Until are ignored. With Follow the stream ends when the container stops
// or ctx ends.
func (f *Fake) ContainerLogs(ctx context.Context, id string, opts engine.LogsOptions) (io.ReadCloser, error) {
	if err := f.enter(ctx, "ContainerLogs"); err != nil {
		return nil, err
	}
	if !opts.Stdout && !opts.Stderr {
		return nil, invalid("you must choose at least one stream")
	}
	tail := -1
	if opts.Tail != "" && opts.Tail != "all" {
		n, err := strconv.Atoi(opts.Tail)
		if err != nil || n < 0 {
			return nil, invalid("invalid tail %q", opts.Tail)
		}
		tail = n
	}
	f.mu.Lock()
	c, err := f.lookupLocked(id)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	tty := c.spec.Config.Tty
	out, errs := tailLines(c.logsOut, tail), tailLines(c.logsErr, tail)
	follow := opts.Follow && c.state.Running
	exited := c.exited
	f.mu.Unlock()

	pr, pw := io.Pipe()
	go func() {
		if opts.Stdout {
			writeFrame(pw, tty, 1, out)
		}
		if opts.Stderr {
			writeFrame(pw, tty, 2, errs)
		}
		if follow {
			select {
			case <-exited:
			case <-ctx.Done():
			}
		}
		pw.Close()
	}()
	return pr, nil
}

func tailLines(s string, n int) string {
	if n < 0 || s == "" {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// writeFrame writes s raw (TTY) or as one frame of Docker's stream
// multiplexing: an 8-byte header (stream, 0, 0, 0, big-endian length).
func writeFrame(w io.Writer, tty bool, stream byte, s string) {
	if s == "" {
		return
	}
	if tty {
		_, _ = io.WriteString(w, s)
		return
	}
	hdr := make([]byte, 8)
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(s)))
	_, _ = w.Write(append(hdr, s...))
}

// AttachContainer implements engine.Engine. Without an attach hook it
// writes the configured logs to the streams and returns when the container
// has run and stopped, or ctx ends. Stdin is not read.
func (f *Fake) AttachContainer(ctx context.Context, id string, s engine.Streams) error {
	if err := f.enter(ctx, "AttachContainer"); err != nil {
		return err
	}
	f.mu.Lock()
	c, err := f.lookupLocked(id)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	hook := f.attachHook
	out, errs := c.logsOut, c.logsErr
	f.mu.Unlock()
	if hook != nil {
		return hook(ctx, c.id, s)
	}
	if s.Stdout != nil {
		_, _ = io.WriteString(s.Stdout, out)
	}
	if s.Stderr != nil {
		_, _ = io.WriteString(s.Stderr, errs)
	} else if s.TTY && s.Stdout != nil {
		_, _ = io.WriteString(s.Stdout, errs)
	}
	for {
		f.mu.Lock()
		status, changed := c.state.Status, c.changed
		f.mu.Unlock()
		if status == container.StateExited || status == container.StateRemoving {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctxErr(ctx.Err())
		}
	}
}

// ResizeContainerTTY implements engine.Engine. The container must be
// running, as in Docker.
func (f *Fake) ResizeContainerTTY(ctx context.Context, id string, height, width uint) error {
	if err := f.enter(ctx, "ResizeContainerTTY"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(id)
	if err != nil {
		return err
	}
	if !c.state.Running {
		return conflict("container %s is not running", c.id)
	}
	f.sizes[c.id] = [2]uint{height, width}
	return nil
}
