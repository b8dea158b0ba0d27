package streaming

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"k8s.io/client-go/tools/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/netlimit"
	"github.com/dockerlet/dockerlet/internal/streaming/streamtest"
)

// closedWithin reports whether the server closes c within d (a read ends
// with EOF or a reset rather than the client's own deadline).
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// A connection that sends nothing, and one that got its 404 and stays,
// are closed by the server: any local user can open them, and before they
// stayed for good.
func TestIdleConnectionsClosed(t *testing.T) {
	s, _ := newTestServer(t, Config{Limits: netlimit.HTTP{IdleTimeout: 500 * time.Millisecond}})
	silent, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if !closedWithin(silent, 5*time.Second) {
		t.Error("a connection that never sent a request stayed open")
	}

	kept, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	if _, err := io.WriteString(kept, "GET /exec/nosuchtoken HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(kept), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !resp.Close {
		t.Errorf("unknown token: %d, close %v; want 404 and the connection closed", resp.StatusCode, resp.Close)
	}
	if !closedWithin(kept, 5*time.Second) {
		t.Error("the connection stayed open after its 404")
	}
}

// Above the cap a connection is closed as soon as it is accepted; when
// one of the capped ones goes, a new one is served again.
func TestConnectionCap(t *testing.T) {
	const maxConns = 4
	s, _ := newTestServer(t, Config{Limits: netlimit.HTTP{MaxConns: maxConns, IdleTimeout: time.Minute}})
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range maxConns {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Let the server accept them before the next one.
	time.Sleep(200 * time.Millisecond)
	over, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	if !closedWithin(over, 5*time.Second) {
		t.Fatal("a connection above the cap was kept")
	}
	held[0].Close()
	time.Sleep(200 * time.Millisecond)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + s.Addr().String() + "/exec/x")
	if err != nil {
		t.Fatalf("a request after a capped connection closed: %v", err)
	}
	resp.Body.Close()
}

// A session outlives the request timeouts: once its URL is redeemed the
// connection is the session's, bounded by its own idle timeout.
func TestSessionOutlivesRequestTimeouts(t *testing.T) {
	s, eng := newTestServer(t, Config{Limits: netlimit.HTTP{IdleTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}})
	id := runningContainer(t, eng, false)
	eng.SetExecHook(func(ctx context.Context, _ string, _ engine.ExecConfig, st engine.Streams) int {
		time.Sleep(time.Second)
		io.WriteString(st.Stdout, "after a second")
		return 0
	})
	for _, tr := range execTransports {
		resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sleep", "1"}, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		var stdout bytes.Buffer
		if err := streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{Stdout: &stdout}); err != nil {
			t.Errorf("%s: session longer than the request timeouts: %v", tr, err)
		}
		if stdout.String() != "after a second" {
			t.Errorf("%s: stdout %q", tr, stdout.String())
		}
	}
}
