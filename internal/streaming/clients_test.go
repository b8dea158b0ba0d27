package streaming

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/streaming/streamtest"
)

// The test clients are client-go's, wired as crictl and critest wire them.

var transports = streamtest.Transports

// execTransports adds the pre-v5 WebSocket protocol for exec sessions that
// do not rely on stdin's end: before v5 a WebSocket client cannot signal it.
var execTransports = append(transports, "websocket-v4")

// roundTrip sends msg on a fresh connection to addr, half-closes, and
// returns everything the other side answered.
func roundTrip(t *testing.T, addr, msg string) (string, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, msg); err != nil {
		return "", err
	}
	conn.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(conn)
	return string(b), err
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
