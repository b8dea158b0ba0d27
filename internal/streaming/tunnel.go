package streaming

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
)

// client-go's WebSocket port-forward (kubectl, crictl, critest) does not
// speak the legacy channel protocol: it asks for the subprotocol
// "SPDY/3.1+portforward.k8s.io" and runs the SPDY protocol inside binary
// WebSocket messages. The API server usually unwraps that before the
// kubelet; here the client talks to us directly, so we accept the
// WebSocket, then hand the library's SPDY handler a response writer whose
// hijacked connection is the tunnel.

// serveSPDYTunnel serves a SPDY-over-WebSocket port-forward session.
func (s *Server) serveSPDYTunnel(w http.ResponseWriter, r *http.Request, sandboxID string) {
	var tunneled, spdyProtocols []string
	for _, p := range websocket.Subprotocols(r) {
		if inner, ok := strings.CutPrefix(p, portforward.WebsocketsSPDYTunnelingPrefix); ok {
			tunneled = append(tunneled, p)
			spdyProtocols = append(spdyProtocols, inner)
		}
	}
	spdyReq := r.Clone(r.Context())
	for _, h := range []string{"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions"} {
		spdyReq.Header.Del(h)
	}
	spdyReq.Header.Set("Connection", "Upgrade")
	spdyReq.Header.Set("Upgrade", "SPDY/3.1")
	spdyReq.Header.Set("X-Stream-Protocol-Version", strings.Join(spdyProtocols, ","))

	tw := &tunnelWriter{orig: w, req: r, header: make(http.Header), protocols: tunneled}
	portforward.ServePortForward(tw, spdyReq, adapter{s}, sandboxID, "", &portforward.V4Options{},
		s.cfg.IdleTimeout, s.cfg.StreamCreationTimeout, portforward.SupportedProtocols)
	if tw.err != nil {
		s.log.Warn("websocket tunnel upgrade failed", "err", tw.err)
	}
}

// tunnelWriter turns the library's "101 Switching Protocols" into a
// WebSocket upgrade and its Hijack into the WebSocket connection. Error
// responses before the upgrade go to the client unchanged.
type tunnelWriter struct {
	orig      http.ResponseWriter
	req       *http.Request
	header    http.Header
	protocols []string

	ws  *websocket.Conn
	err error
}

func (t *tunnelWriter) Header() http.Header { return t.header }

func (t *tunnelWriter) WriteHeader(code int) {
	if code != http.StatusSwitchingProtocols {
		for k, v := range t.header {
			t.orig.Header()[k] = v
		}
		t.orig.WriteHeader(code)
		return
	}
	up := websocket.Upgrader{
		Subprotocols: t.protocols,
		// The single-use token is the credential; browsers are not clients.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	t.ws, t.err = up.Upgrade(t.orig, t.req, nil)
}

func (t *tunnelWriter) Write(b []byte) (int, error) {
	if t.ws != nil {
		return 0, errors.New("write on an upgraded tunnel")
	}
	return t.orig.Write(b)
}

func (t *tunnelWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if t.ws == nil {
		return nil, nil, fmt.Errorf("websocket upgrade: %w", t.err)
	}
	c := &wsConn{ws: t.ws}
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

// wsConn is a byte stream over binary WebSocket messages, the framing
// client-go's TunnelingConnection uses.
type wsConn struct {
	ws        *websocket.Conn
	cur       io.Reader
	writeMu   sync.Mutex
	closeOnce sync.Once
}

var _ net.Conn = (*wsConn)(nil)

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure {
					return 0, io.EOF
				}
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, fmt.Errorf("tunnel: unexpected websocket message type %d", typ)
			}
			c.cur = r
		}
		n, err := c.cur.Read(p)
		if errors.Is(err, io.EOF) {
			c.cur = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		err = c.ws.Close()
	})
	return err
}

func (c *wsConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }
func (c *wsConn) SetDeadline(t time.Time) error {
	return errors.Join(c.ws.SetReadDeadline(t), c.ws.SetWriteDeadline(t))
}
func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
