package crilog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// copier copies one container's Docker log into its CRI log file.
type copier struct {
	id, path string
	file     logFile // path, confined to the pod's log directory
	tty      bool
	eng      logEngine
	log      *slog.Logger

	ready    chan struct{} // closed when Start has finished (startErr set)
	startErr error
	cancel   context.CancelFunc
	done     chan struct{} // closed when the copier has stopped for good

	mu sync.Mutex // guards f and w: Reopen swaps the file under the writer
	f  *os.File
	w  *logWriter
	rc io.Closer // the stream being copied, closed by stop to unblock a read

	// Owned by the copying goroutine.
	resume  resumeState
	buf     []byte
	dropped int // records lost because the file could not be written
}

// since formats a resume point as Docker's "seconds.nanoseconds".
func since(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// openStream loads the resume point from the file and asks Docker for its
// log from there on.
func (c *copier) openStream(ctx context.Context) (io.ReadCloser, error) {
	c.flush()
	st, err := loadResume(c.file)
	if err != nil {
		return nil, err
	}
	c.resume = st
	rc, err := c.eng.ContainerLogs(ctx, c.id, engine.LogsOptions{
		Stdout: true, Stderr: true, Follow: true, Timestamps: true, Since: since(st.since),
	})
	if err != nil {
		return nil, fmt.Errorf("docker logs of %s: %w", c.id, err)
	}
	return rc, nil
}

// run copies until the container's output has ended for good or ctx ends.
// When a stream ends it asks Docker whether the container still runs: if it
// does (the stream broke, the container restarted) the copier resumes; if not
// it makes one catch-up pass from the file's tail (a stream that broke right at
// exit would otherwise lose its last lines) and stops.
func (c *copier) run(ctx context.Context, rc io.ReadCloser) {
	defer close(c.done)
	defer c.closeFile()
	// The first retry is quick: the engine may serve inspect from a cache
	// that learns of the exit a moment after the stream ends. Streams that
	// keep ending at once back off to a second; one that followed for a
	// while resets the delay.
	const firstRetry, maxRetry = 20 * time.Millisecond, time.Second
	backoff := firstRetry
	final := false
	for {
		if rc != nil {
			began := time.Now()
			c.setStream(rc)
			err := c.copyStream(rc)
			c.setStream(nil)
			rc.Close()
			c.flush()
			if err != nil && ctx.Err() == nil {
				c.log.Warn("container log stream broke", "container", c.id, "err", err)
			}
			if time.Since(began) > 10*time.Second {
				backoff = firstRetry
			}
		}
		if ctx.Err() != nil || final {
			return
		}
		insp, err := c.eng.InspectContainer(ctx, c.id)
		switch {
		case errors.Is(err, engine.ErrNotFound):
			return // removed: Docker's log is gone with it
		case err == nil && insp.State != nil && !insp.State.Running && !insp.State.Restarting:
			final = true
		case err == nil:
			// Still (or again) running: the stream broke, or the container
			// restarted. Follow on.
		default:
			c.log.Warn("inspect for log copier", "container", c.id, "err", err)
		}
		if !final {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxRetry)
		}
		rc, err = c.openStream(ctx)
		if err != nil {
			if errors.Is(err, engine.ErrNotFound) {
				return
			}
			c.log.Warn("reopen docker log stream", "container", c.id, "err", err)
			rc = nil
		}
	}
}

// flushingReader flushes the file before it may block on the stream, so a
// reader of the log sees every record Docker has sent so far, while a burst
// is still written in few large writes.
type flushingReader struct {
	r io.Reader
	c *copier
}

func (fr flushingReader) Read(p []byte) (int, error) {
	fr.c.flush()
	return fr.r.Read(p)
}

func (c *copier) copyStream(rc io.Reader) error {
	src := flushingReader{rc, c}
	if c.tty {
		return decodeRaw(src, c.emit)
	}
	return decodeMultiplexed(src, c.emit)
}

// emit writes one Docker message as CRI records, skipping those a resumed
// copier already wrote.
func (c *copier) emit(ts []byte, stream string, partial bool, content []byte) error {
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return fmt.Errorf("docker log timestamp %.40q: %w", ts, err)
	}
	if c.resume.seen != nil && t.After(c.resume.last) {
		c.resume = resumeState{} // past the overlap: nothing more to compare
	}
	c.buf = c.buf[:0]
	for {
		piece, more := content, false
		if len(piece) > MaxRecordContent {
			piece, more = content[:MaxRecordContent], true
		}
		p := partial || more
		if !c.resume.skip(t, stream, p, piece) {
			c.buf = AppendRecord(c.buf, ts, stream, p, piece)
		}
		if !more {
			break
		}
		content = content[MaxRecordContent:]
	}
	if len(c.buf) > 0 {
		c.write(c.buf)
	}
	if cap(c.buf) > 1<<20 {
		c.buf = nil
	}
	return nil
}

func (c *copier) write(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		// A failed Reopen left no file: try again, the disk may be back.
		f, err := c.file.open()
		if err != nil {
			c.dropped++
			if c.dropped == 1 || c.dropped%10000 == 0 {
				c.log.Error("container log not writable, dropping output", "container", c.id, "path", c.path, "dropped", c.dropped, "err", err)
			}
			return
		}
		c.f = f
		c.w.Reset(f)
	}
	if _, err := c.w.Write(b); err != nil {
		c.log.Error("write container log", "container", c.id, "path", c.path, "err", err)
		c.w.Reset(c.f) // drop the sticky error; the next write tries again
	}
}

func (c *copier) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil && c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			c.log.Error("flush container log", "container", c.id, "path", c.path, "err", err)
			c.w.Reset(c.f)
		}
	}
}

// reopen closes the file and opens path anew (the kubelet renamed it).
func (c *copier) reopen() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil {
		if err := c.w.Flush(); err != nil {
			c.log.Error("flush container log before reopen", "container", c.id, "err", err)
		}
		c.f.Close()
		c.f = nil
	}
	f, err := c.file.open()
	if err != nil {
		return err
	}
	c.f = f
	c.w.Reset(f)
	return nil
}

func (c *copier) closeFile() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil {
		c.w.Flush()
		c.f.Close()
		c.f = nil
	}
}

func (c *copier) setStream(rc io.Closer) {
	c.mu.Lock()
	c.rc = rc
	c.mu.Unlock()
}

// closeStream unblocks a copier waiting on Docker (ctx cancellation alone
// depends on the engine's transport honouring it mid-body).
func (c *copier) closeStream() {
	c.mu.Lock()
	rc := c.rc
	c.mu.Unlock()
	if rc != nil {
		rc.Close()
	}
}

func (c *copier) finished() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}
