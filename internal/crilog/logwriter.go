package crilog

import (
	"io"
	"sync"
)

// logWriterSize is the most a copier buffers between flushes.
const logWriterSize = 64 << 10

// logBufs holds the write buffers of copiers that have nothing pending. A
// node runs a copier per container, nearly all idle: a buffer each would be
// megabytes that are never used (RSS at 110 pods).
var logBufs = sync.Pool{New: func() any { b := make([]byte, 0, logWriterSize); return &b }}

// logWriter is a bufio.Writer whose buffer is borrowed from logBufs while
// data is pending and handed back on every flush. An error drops what was
// pending (as Reset after a failed bufio flush does) and is not sticky.
type logWriter struct {
	dst io.Writer
	buf *[]byte // nil while nothing is pending
}

// Reset discards anything pending and writes to dst from now on.
func (w *logWriter) Reset(dst io.Writer) {
	w.release()
	w.dst = dst
}

// Buffered is the number of pending bytes.
func (w *logWriter) Buffered() int {
	if w.buf == nil {
		return 0
	}
	return len(*w.buf)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.Buffered()+len(p) > logWriterSize {
		if err := w.Flush(); err != nil {
			return 0, err
		}
	}
	if len(p) >= logWriterSize {
		return w.dst.Write(p)
	}
	if w.buf == nil {
		w.buf = logBufs.Get().(*[]byte)
	}
	*w.buf = append(*w.buf, p...)
	return len(p), nil
}

// Flush writes what is pending and gives the buffer back.
func (w *logWriter) Flush() error {
	if w.Buffered() == 0 {
		w.release()
		return nil
	}
	_, err := w.dst.Write(*w.buf)
	w.release()
	return err
}

func (w *logWriter) release() {
	if w.buf != nil {
		*w.buf = (*w.buf)[:0]
		logBufs.Put(w.buf)
		w.buf = nil
	}
}
