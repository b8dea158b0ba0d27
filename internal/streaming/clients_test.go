package streaming

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	streamhttp "k8s.io/streaming/pkg/httpstream"

	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

// The test clients are client-go's, wired as crictl and critest wire them.

var transports = []string{"spdy", "websocket"}

// execTransports adds the pre-v5 WebSocket protocol for exec sessions that
// do not rely on stdin's end: before v5 a WebSocket client cannot signal it.
var execTransports = append(transports, "websocket-v4")

func executor(t *testing.T, transport, rawURL string) remotecommand.Executor {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	var e remotecommand.Executor
	switch transport {
	case "spdy":
		e, err = remotecommand.NewSPDYExecutor(&rest.Config{}, http.MethodPost, u)
	case "websocket":
		e, err = remotecommand.NewWebSocketExecutor(&rest.Config{}, http.MethodGet, rawURL)
	case "websocket-v4":
		// The older channel protocol, served by the library itself.
		e, err = remotecommand.NewWebSocketExecutorForProtocols(&rest.Config{}, http.MethodGet, rawURL, "v4.channel.k8s.io")
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func dialer(t *testing.T, transport, rawURL string) streamhttp.Dialer {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if transport == "websocket" {
		d, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, &rest.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tr, up, err := spdy.RoundTripperFor(&rest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return spdy.NewDialerForStreaming(up, &http.Client{Transport: tr}, http.MethodPost, u)
}

// forward starts a client-go port-forward from a free local port to
// remotePort and returns the local address.
func forward(t *testing.T, transport, rawURL string, remotePort int) string {
	t.Helper()
	stop, ready := make(chan struct{}), make(chan struct{})
	var out, errOut enginetest.SyncBuffer
	pf, err := portforward.NewOnAddressesForStreaming(dialer(t, transport, rawURL), []string{"127.0.0.1"},
		[]string{fmt.Sprintf("0:%d", remotePort)}, stop, ready, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pf.ForwardPorts() }()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port-forward ended before it was ready: %v (%s)", err, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("port-forward not ready after 30s")
	}
	ports, err := pf.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(ports[0].Local))
}

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

// sizeQueue feeds terminal sizes to the client.
type sizeQueue chan remotecommand.TerminalSize

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q
	if !ok {
		return nil
	}
	return &s
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
