package crilog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

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

	// writeErr is the first write of the file that failed (disk full, the
	// filesystem read-only): copying pauses until the file takes writes
	// again, then resumes from Docker's log where the file ends, so that
	// nothing is lost while Docker still holds it. Guarded by mu.
	writeErr error

	// Owned by the copying goroutine.
	resume resumeState
	buf    []byte
	outage time.Time // when writes began to fail; zero while they work
}

// errNotWritable stops a copy pass whose file took no more writes.
var errNotWritable = errors.New("container log not writable")

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
	defer c.reportLoss()
	for {
		if rc != nil {
			began := time.Now()
			c.setStream(rc)
			err := c.copyStream(rc)
			c.setStream(nil)
			rc.Close()
			c.flush()
			if werr := c.takeWriteErr(); werr != nil {
				// Not a broken stream: the file. Wait until it takes writes,
				// then copy again from where it ends.
				if c.outage.IsZero() {
					c.outage = time.Now()
					c.log.Warn("container log not writable: copying paused until it is; nothing is lost while Docker keeps the container's log",
						"container", c.id, "path", c.path, "err", werr)
				}
				final = false
				if !c.waitWritable(ctx, werr) {
					return
				}
			} else if err != nil && ctx.Err() == nil {
				c.log.Warn("container log stream broke", "container", c.id, "err", err)
			}
			if time.Since(began) > 10*time.Second {
				backoff = firstRetry
			}
		}
		if ctx.Err() != nil || final {
			return
		}
		var gone bool
		if final, gone = c.exited(ctx); gone {
			return // removed: Docker's log is gone with it
		}
		if !final {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxRetry)
			// The engine's cache learns of an exit a moment after the
			// stream ends: a second look often finds it, and then one
			// catch-up pass is the last stream opened, not a follow that
			// ends at once and a catch-up after it.
			if final, gone = c.exited(ctx); gone {
				return
			}
		}
		var err error
		rc, err = c.openStream(ctx)
		if err != nil {
			if errdefs.IsNotFound(err) {
				return
			}
			c.log.Warn("reopen docker log stream", "container", c.id, "err", err)
			rc = nil
		}
	}
}

// exited asks the engine whether the container is done: exited (or never
// to run again) means one catch-up pass is left; gone, that it was removed.
func (c *copier) exited(ctx context.Context) (exited, gone bool) {
	insp, err := c.eng.InspectContainer(ctx, c.id)
	switch {
	case errdefs.IsNotFound(err):
		return false, true
	case err == nil && insp.State != nil && !insp.State.Running && !insp.State.Restarting:
		return true, false
	case err == nil:
		// Still (or again) running: the stream broke, or the container
		// restarted. Follow on.
	case ctx.Err() == nil:
		c.log.Warn("inspect for log copier", "container", c.id, "err", err)
	}
	return false, false
}

// flushingReader flushes the file before it may block on the stream, so a
// reader of the log sees every record Docker has sent so far, while a burst
// is still written in few large writes.
type flushingReader struct {
	r io.Reader
	c *copier
}

func (fr flushingReader) Read(p []byte) (int, error) {
	if err := fr.c.flush(); err != nil {
		return 0, err
	}
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
	var werr error
	if len(c.buf) > 0 {
		werr = c.write(c.buf)
	}
	if cap(c.buf) > 1<<20 {
		c.buf = nil
	}
	return werr
}

// write appends b to the file (through the buffer). After a failure it
// writes nothing more until the copier has resumed (errNotWritable): a
// record written after a lost one would leave a hole in the file.
func (c *copier) write(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writeErr != nil {
		return errNotWritable
	}
	if c.f == nil {
		// A failed Reopen left no file: try again, the disk may be back.
		f, err := c.file.open()
		if err != nil {
			c.writeErr = err
			return errNotWritable
		}
		c.f = f
		c.w.Reset(f)
	}
	if _, err := c.w.Write(b); err != nil {
		c.writeErr = err
		c.w.Reset(c.f) // what was pending is copied again on resume
		return errNotWritable
	}
	if !c.outage.IsZero() && c.w.Buffered() == 0 {
		c.recovered()
	}
	return nil
}

func (c *copier) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writeErr != nil {
		return errNotWritable
	}
	if c.f != nil && c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			c.writeErr = err
			c.w.Reset(c.f)
			return errNotWritable
		}
		if !c.outage.IsZero() {
			c.recovered()
		}
	}
	return nil
}

// takeWriteErr returns and clears the failure that paused copying.
func (c *copier) takeWriteErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.writeErr
	c.writeErr = nil
	return err
}

// recovered reports the end of an outage (mu held; the copying goroutine's).
func (c *copier) recovered() {
	c.log.Info("container log writable again: copying resumed where the file ended, nothing lost",
		"container", c.id, "path", c.path, "paused", time.Since(c.outage).Round(time.Millisecond))
	c.outage = time.Time{}
}

// waitWritable waits, backing off to 30 s, until the file can take writes
// again — for a full filesystem, until it has room (the copy that follows
// re-reads Docker's log from the file's end: not to be done in a loop) —
// or ctx ends (false).
func (c *copier) waitWritable(ctx context.Context, werr error) bool {
	wait := time.Second
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		if !errors.Is(werr, syscall.ENOSPC) || c.hasRoom() {
			return true
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// hasRoom reports whether the log's filesystem has room for a full write
// buffer (root may use the blocks reserved for it).
func (c *copier) hasRoom() bool {
	c.mu.Lock()
	f := c.f
	c.mu.Unlock()
	if f == nil {
		return true // the reopen will tell
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return true
	}
	return st.Bfree*uint64(st.Bsize) >= logWriterSize
}

// reportLoss says what a copier that ends while its file takes no writes
// leaves out: everything Docker logged after the file's last record.
func (c *copier) reportLoss() {
	if c.outage.IsZero() {
		return
	}
	last := "the start"
	if st, err := loadResume(c.file); err == nil && !st.since.IsZero() {
		last = st.since.Add(resumeMargin).Format(time.RFC3339Nano)
	}
	c.log.Error("container log incomplete: the copier stopped while the file took no writes; Docker's output after the file's last record is not in it",
		"container", c.id, "path", c.path, "missing_after", last, "paused", time.Since(c.outage).Round(time.Millisecond))
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
