package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/containerd/errdefs"
)

// outageProbeTimeout bounds the reachability probe after a failed call.
const outageProbeTimeout = 500 * time.Millisecond

// classifyCall classifies the error of a container operation and, when the
// daemon gave it no useful kind, tells a daemon that is going away from a
// real failure: a dockerd that shuts down closes its listener first but
// still answers calls on open connections with errors such as "transport
// is closing", "failed to update store" or a stale-endpoint 403. If a fresh
// connection is refused, the failure is the outage — Unavailable, which a
// kubelet retries — not an internal error.
func (c *Client) classifyCall(ctx context.Context, op string, err error) error {
	e := classify(op, err)
	if e == nil || ctx.Err() != nil {
		return e
	}
	if ee := (*Error)(nil); errors.As(e, &ee) && ee.Kind != nil && ee.Kind != errdefs.ErrUnauthenticated {
		return e
	}
	if c.accepting(ctx) {
		return e
	}
	return &Error{Op: op, Kind: errdefs.ErrUnavailable, Err: fmt.Errorf("%w (the daemon stopped accepting connections)", err)}
}

// accepting reports whether the daemon's endpoint accepts a new connection
// (true when that cannot be told, e.g. for npipe://).
func (c *Client) accepting(ctx context.Context) bool {
	u, err := url.Parse(c.api.DaemonHost())
	if err != nil {
		return true
	}
	network, addr := "", ""
	switch u.Scheme {
	case "unix":
		network, addr = "unix", u.Path
	case "tcp", "http", "https":
		network, addr = "tcp", u.Host
	default:
		return true
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outageProbeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
