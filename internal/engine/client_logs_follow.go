package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/moby/moby/client"
)

// followBufSize is the read buffer of a followed log's connection. It
// holds HTTP headers and chunk-size lines (a header line longer than it is
// still read whole); a chunk's data is read straight into the caller's
// larger buffer, so a small one costs nothing in throughput and ~2 KiB less
// per running container than the usual 4 KiB.
const followBufSize = 256

// followLogs answers ContainerLogs with Follow on a connection of its own
// that the caller's goroutine reads directly. Through the moby client's
// HTTP transport every followed log would hold that transport's two
// goroutines and its 8 KiB read and 4 KiB write buffers for the
// container's whole life: at 110 pods a node's log copiers were ~4 MiB of
// dockerlet's memory. ok is false when the options need the
// client's own handling (a Since it would translate, Until, Tail).
func (c *Client) followLogs(ctx context.Context, id string, opts LogsOptions) (rc io.ReadCloser, ok bool, err error) {
	if !opts.Follow || opts.Until != "" || opts.Tail != "" || !unixSeconds(opts.Since) {
		return nil, false, nil
	}
	if strings.ContainsAny(id, "/?#") || id == "" {
		return nil, true, classify("logs of container "+id, fmt.Errorf("invalid container id %q: %w", id, errdefs.ErrInvalidArgument))
	}
	// Negotiates the API version once per client; a no-op afterwards.
	if _, err := c.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return nil, true, classify("logs of container "+id, err)
	}
	q := url.Values{"follow": {"1"}}
	if opts.Stdout {
		q.Set("stdout", "1")
	}
	if opts.Stderr {
		q.Set("stderr", "1")
	}
	if opts.Timestamps {
		q.Set("timestamps", "1")
	}
	if opts.Since != "" {
		q.Set("since", opts.Since)
	}
	u := &url.URL{Scheme: "http", Host: "docker", Path: "/containers/" + id + "/logs", RawQuery: q.Encode()}
	if v := c.api.ClientVersion(); v != "" {
		u.Path = "/v" + strings.TrimPrefix(v, "v") + u.Path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, true, classify("logs of container "+id, err)
	}
	conn, err := c.api.Dialer()(ctx)
	if err != nil {
		return nil, true, classify("logs of container "+id, fmt.Errorf("%w: %w", errdefs.ErrUnavailable, err))
	}
	// A cancelled ctx closes the connection, which ends a blocked read;
	// no goroutine waits for that.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	// fail ends the connection; a transport error is the daemon going
	// away, unless the caller's own ctx ended it.
	fail := func(err error, transport bool) (io.ReadCloser, bool, error) {
		stop()
		conn.Close()
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		case transport:
			err = fmt.Errorf("%w: %w", errdefs.ErrUnavailable, err)
		}
		return nil, true, classify("logs of container "+id, err)
	}
	if err := req.Write(conn); err != nil {
		return fail(err, true)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, followBufSize), req)
	if err != nil {
		return fail(err, true)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fail(statusError(resp.StatusCode, msg), false)
	}
	return &followedLog{body: resp.Body, conn: conn, stop: stop}, true, nil
}

// followedLog is the body of a followed log; Close ends its connection.
type followedLog struct {
	body io.ReadCloser
	conn net.Conn
	stop func() bool
	once sync.Once
}

func (f *followedLog) Read(p []byte) (int, error) { return f.body.Read(p) }

func (f *followedLog) Close() error {
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

// unixSeconds reports whether s is empty or Docker's "seconds[.nanos]",
// which the API takes as is.
func unixSeconds(s string) bool {
	secs, nanos, _ := strings.Cut(s, ".")
	return allDigits(secs) && (nanos == "" || allDigits(nanos)) || s == ""
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
