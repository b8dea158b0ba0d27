// Package streamtest holds the streaming clients the tests use: client-go's
// exec and port-forward clients, wired as crictl and critest wire them,
// over SPDY or WebSocket.
package streamtest

import (
	"fmt"
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

// Transports are the two protocols the kubelet and crictl speak.
var Transports = []string{"spdy", "websocket"}

// Executor is client-go's exec client for a CRI exec or attach URL over
// transport: "spdy", "websocket", or "websocket-v4" (the pre-v5 channel
// protocol, served by the library itself).
func Executor(t testing.TB, transport, rawURL string) remotecommand.Executor {
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
		e, err = remotecommand.NewWebSocketExecutorForProtocols(&rest.Config{}, http.MethodGet, rawURL, "v4.channel.k8s.io")
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// dialer is client-go's port-forward dialer for a CRI port-forward URL.
func dialer(t testing.TB, transport, rawURL string) streamhttp.Dialer {
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

// Forward starts a client-go port-forward from a free local port to
// remotePort over a CRI port-forward URL and returns the local address.
// The forward ends with the test.
func Forward(t testing.TB, transport, rawURL string, remotePort int) string {
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
		if err := <-done; err != nil {
			t.Logf("port-forward to %d ended: %v", remotePort, err)
		}
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

// SizeQueue feeds terminal sizes to an exec client; closing it ends them.
type SizeQueue chan remotecommand.TerminalSize

// Next implements remotecommand.TerminalSizeQueue.
func (q SizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q
	if !ok {
		return nil
	}
	return &s
}
