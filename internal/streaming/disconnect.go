package streaming

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// A hijacked connection's request context is not cancelled when the
// client goes away, so a silent exec would run on after its client
// disconnected. watchDisconnect hands the protocol handlers a response
// writer whose hijacked connection cancels the request's context when a
// read from the client fails or the connection closes. Streaming clients
// never half-close, so a failed read means the client is gone.
func watchDisconnect(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	return &watchedWriter{ResponseWriter: w, cancel: cancel}, r.WithContext(ctx), cancel
}

type watchedWriter struct {
	http.ResponseWriter
	cancel context.CancelFunc
}

func (w *watchedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot be hijacked")
	}
	conn, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	wc := &watchedConn{Conn: conn, cancel: w.cancel}
	// Keep what the server already buffered from the client, then read
	// through the watched connection.
	buffered, _ := rw.Reader.Peek(rw.Reader.Buffered())
	reader := io.MultiReader(bytesReader(buffered), wc)
	return wc, bufio.NewReadWriter(bufio.NewReader(reader), bufio.NewWriter(wc)), nil
}

func bytesReader(b []byte) io.Reader {
	cp := make([]byte, len(b))
	copy(cp, b)
	return &sliceReader{b: cp}
}

type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

type watchedConn struct {
	net.Conn
	cancel context.CancelFunc
	once   sync.Once
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(c.cancel)
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.once.Do(c.cancel)
	return c.Conn.Close()
}
