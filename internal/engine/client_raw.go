package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/moby/moby/client"
)

// rawGet sends GET path?q to the daemon on a connection of its own and
// returns the body of its 200 answer; closing the body ends the
// connection. It serves the two calls whose answers the moby client would
// hold in ways that cost memory at a few hundred pods (a followed log,
// which would keep its transport's goroutines and buffers for the
// container's life; a listing, which it buffers whole before decoding).
// bufSize is the connection's read buffer. The error is unclassified: a
// transport failure is ErrUnavailable, an error answer the kind of its
// status code, and a cancelled ctx its own error.
func (c *Client) rawGet(ctx context.Context, path string, q url.Values, bufSize int) (io.ReadCloser, error) {
	// Negotiates the API version once per client; a no-op afterwards.
	if _, err := c.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return nil, err
	}
	u := &url.URL{Scheme: "http", Host: "docker", Path: path, RawQuery: q.Encode()}
	if v := c.api.ClientVersion(); v != "" {
		u.Path = "/v" + strings.TrimPrefix(v, "v") + u.Path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	conn, err := c.api.Dialer()(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errdefs.ErrUnavailable, err)
	}
	// A cancelled ctx closes the connection, which ends a blocked read;
	// no goroutine waits for that.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error, transport bool) (io.ReadCloser, error) {
		stop()
		conn.Close()
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		case transport:
			err = fmt.Errorf("%w: %w", errdefs.ErrUnavailable, err)
		}
		return nil, err
	}
	if err := req.Write(conn); err != nil {
		return fail(err, true)
	}
	br := bufio.NewReaderSize(conn, bufSize)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fail(err, true)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fail(statusError(resp.StatusCode, msg), false)
	}
	// The body is read from the connection's reader directly, not through
	// resp.Body, which would keep the answer, its request and their
	// header maps alive as long as the body (a followed log's: the
	// container's life). Nothing of the body has been read yet.
	var body io.Reader = br // no length: until the daemon closes
	switch {
	case slices.Equal(resp.TransferEncoding, []string{"chunked"}):
		body = httputil.NewChunkedReader(br)
	case resp.ContentLength >= 0:
		body = io.LimitReader(br, resp.ContentLength)
	}
	return &rawBody{body: body, conn: conn, stop: stop}, nil
}

// rawBody is the body of a rawGet answer; Close ends its connection.
type rawBody struct {
	body io.Reader
	conn net.Conn
	stop func() bool
	once sync.Once
}

func (f *rawBody) Read(p []byte) (int, error) { return f.body.Read(p) }

func (f *rawBody) Close() error {
	f.once.Do(func() {
		f.stop()
		f.conn.Close()
	})
	return nil
}

// statusError turns a Docker error answer (JSON {"message": …}) into an
// error of the kind its status code means, as the moby client does for
// the calls it makes.
func statusError(code int, body []byte) error {
	var m struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		msg = m.Message
	}
	return fmt.Errorf("%w: %s", errhttp.ToNative(code), msg)
}
