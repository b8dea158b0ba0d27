package netlimit

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestShare(t *testing.T) {
	for _, tc := range []struct {
		budget uint64
		want   []int
		got    []int
	}{
		{1000, []int{128, 256, 16, 0}, []int{128, 256, 16, 0}},
		{200, []int{128, 256, 16, 0}, []int{64, 128, 8, 0}},
		{2, []int{128, 256, 16, 4}, []int{1, 1, 1, 1}},
		{100, []int{0, 0}, []int{0, 0}},
	} {
		if got := Share(tc.budget, tc.want...); !slices.Equal(got, tc.got) {
			t.Errorf("Share(%d, %v) = %v, want %v", tc.budget, tc.want, got, tc.got)
		}
	}
}

func TestOpenFilesRaisesSoftToHard(t *testing.T) {
	n, err := OpenFiles()
	if err != nil || n == 0 {
		t.Fatalf("OpenFiles: %d %v", n, err)
	}
}

// The cap counts open connections: one above it is closed at accept, and
// a closed one frees its place (once, however often it is closed).
func TestLimitCountsOpenConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Limit(ln, 2, "test", nil)
	defer l.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial()
	dial()
	a := <-accepted
	<-accepted
	over := dial()
	_ = over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := over.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the connection above the cap: read %v, want EOF", err)
	}
	if l.Active() != 2 || l.Rejected() != 1 {
		t.Errorf("active %d rejected %d, want 2 and 1", l.Active(), l.Rejected())
	}
	a.Close()
	a.Close()
	if l.Active() != 1 {
		t.Errorf("active %d after a close, want 1", l.Active())
	}
	dial()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Error("no connection accepted after one was closed")
	}
}

func TestServeBoundsIdleConnections(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := Serve(ctx, "127.0.0.1:0", HTTP{MaxConns: 4, IdleTimeout: 300 * time.Millisecond}, http.NotFoundHandler(), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: read %v, want EOF (closed by the server)", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
}
