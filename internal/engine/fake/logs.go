package fake

import (
	"context"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// logLine is one line a container wrote; text ends with "\n" unless it
// was a partial last line.
type logLine struct {
	stream byte // 1 stdout, 2 stderr
	time   time.Time
	text   string
}

// timestampFormat is Docker's fixed-width RFC3339Nano for log timestamps.
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// SetLogs replaces a container's log with stdout and stderr (split into
// lines, stamped with the fake's clock). ContainerLogs and the default
// attach serve it.
func (f *Fake) SetLogs(id, stdout, stderr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(id)
	if err != nil {
		return err
	}
	c.logs = nil
	now := f.Now()
	for _, l := range splitLines(stdout) {
		c.logs = append(c.logs, logLine{1, now, l})
	}
	for _, l := range splitLines(stderr) {
		c.logs = append(c.logs, logLine{2, now, l})
	}
	c.notify()
	return nil
}

// AppendLog adds text (one or more lines) to a container's stdout
// (stream "stdout") or stderr, stamped with the fake's clock; followers of
// ContainerLogs receive it.
func (f *Fake) AppendLog(id, stream, text string) error {
	s := byte(1)
	switch stream {
	case "stdout":
	case "stderr":
		s = 2
	default:
		return invalid("unknown stream %q", stream)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(id)
	if err != nil {
		return err
	}
	now := f.Now()
	for _, l := range splitLines(text) {
		c.logs = append(c.logs, logLine{s, now, l})
	}
	c.notify()
	return nil
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// ContainerLogs implements engine.Engine. Like Docker, a container without
// a TTY yields a multiplexed stream (read it with stdcopy.StdCopy), a TTY
// container one raw stream. Since, Until, Tail and Timestamps behave as in
// Docker; with Follow the stream ends when the container stops or ctx ends.
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
	since, err := parseLogTime(opts.Since)
	if err != nil {
		return nil, err
	}
	until, err := parseLogTime(opts.Until)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	c, err := f.lookupLocked(id)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	tty := c.spec.Config.Tty
	f.mu.Unlock()

	keep := func(l logLine) bool {
		if l.stream == 1 && !opts.Stdout || l.stream == 2 && !opts.Stderr {
			return false
		}
		return (since.IsZero() || !l.time.Before(since)) && (until.IsZero() || !l.time.After(until))
	}
	write := func(w io.Writer, l logLine) error {
		text := l.text
		if opts.Timestamps {
			text = l.time.UTC().Format(timestampFormat) + " " + text
		}
		return writeFrame(w, tty, l.stream, text)
	}

	pr, pw := io.Pipe()
	go func() {
		f.mu.Lock()
		var first []logLine
		for _, l := range c.logs {
			if keep(l) {
				first = append(first, l)
			}
		}
		if tail >= 0 && len(first) > tail {
			first = first[len(first)-tail:]
		}
		next, running, changed := len(c.logs), c.state.Running, c.changed
		f.mu.Unlock()
		for _, l := range first {
			if write(pw, l) != nil {
				return
			}
		}
		for opts.Follow && running && until.IsZero() {
			select {
			case <-changed:
			case <-ctx.Done():
				pw.CloseWithError(ctx.Err())
				return
			}
			f.mu.Lock()
			fresh := c.logs[next:]
			next, running, changed = len(c.logs), c.state.Running, c.changed
			f.mu.Unlock()
			for _, l := range fresh {
				if keep(l) && write(pw, l) != nil {
					return
				}
			}
		}
		pw.Close()
	}()
	return pr, nil
}

// parseLogTime reads Docker's since/until: RFC3339(Nano) or unix seconds
// with optional fraction; "" is no bound.
func parseLogTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, invalid("invalid log time %q", s)
	}
	var nanos int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if nanos, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, invalid("invalid log time %q", s)
		}
	}
	return time.Unix(n, nanos), nil
}

// writeFrame writes s raw (TTY) or as one frame of Docker's stream
// multiplexing: an 8-byte header (stream, 0, 0, 0, big-endian length).
func writeFrame(w io.Writer, tty bool, stream byte, s string) error {
	if tty {
		_, err := io.WriteString(w, s)
		return err
	}
	hdr := make([]byte, 8, 8+len(s))
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(s)))
	_, err := w.Write(append(hdr, s...))
	return err
}
