package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// PortForward copies bytes between the stream and a TCP port on the
// sandbox's loopback, dialled from inside its network namespace.
func (r *runner) PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	ctx, cancel := r.bind(ctx)
	defer cancel()
	if port < 1 || port > 65535 {
		return fmt.Errorf("port-forward to sandbox %s: invalid port %d", sandboxID, port)
	}
	if r.sandboxes == nil {
		return fmt.Errorf("port-forward to sandbox %s: no sandbox resolver configured", sandboxID)
	}
	nsPath, err := r.sandboxes.SandboxNetNS(ctx, sandboxID)
	if err != nil {
		return fmt.Errorf("port-forward: network namespace of sandbox %s: %w", sandboxID, err)
	}
	conn, err := dialLoopback(ctx, nsPath, int(port))
	if err != nil {
		return fmt.Errorf("port-forward to sandbox %s port %d: %w", sandboxID, port, err)
	}
	defer conn.Close()
	return pipe(ctx, conn, stream)
}

// dialLoopback connects to port on the loopback of the network namespace
// at nsPath ("" = this host's), IPv4 first, then IPv6.
func dialLoopback(ctx context.Context, nsPath string, port int) (net.Conn, error) {
	dial := func() (net.Conn, error) {
		var d net.Dialer
		p := strconv.Itoa(port)
		c4, err4 := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", p))
		if err4 == nil {
			return c4, nil
		}
		c6, err6 := d.DialContext(ctx, "tcp6", net.JoinHostPort("::1", p))
		if err6 == nil {
			return c6, nil
		}
		return nil, errors.Join(err4, err6)
	}
	if nsPath == "" {
		return dial()
	}
	return inNetNS(nsPath, dial)
}

// pipe copies both ways until the pod side closes, the client side fails,
// or ctx ends. The client finishing its sending half-closes the pod
// connection so the pod's server sees EOF and can still answer.
func pipe(ctx context.Context, conn net.Conn, stream io.ReadWriter) error {
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stream)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		sent <- err
	}()
	received := make(chan error, 1)
	go func() {
		_, err := io.Copy(stream, conn)
		received <- err
	}()
	for {
		select {
		case err := <-received:
			return err
		case err := <-sent:
			if err != nil {
				return fmt.Errorf("copy from client: %w", err)
			}
			sent = nil // the client is done sending; wait for the answer
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
