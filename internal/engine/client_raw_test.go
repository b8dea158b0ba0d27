package engine

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/dockerlet/dockerlet/internal/testutil"
)

// holdingDaemon answers pings, and log requests with the start of a
// chunked answer that never goes on; it keeps those connections and
// nothing else, so the heap a followed log holds is the client's.
func holdingDaemon(t *testing.T) *Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						conn.Close()
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if !strings.HasSuffix(req.URL.Path, "/logs") {
						_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK")
						continue
					}
					_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nDocker-Experimental: false\r\nServer: Docker/20.10\r\nDate: Sat, 05 Dec 2026 22:00:00 GMT\r\nTransfer-Encoding: chunked\r\n\r\n")
					mu.Lock()
					held = append(held, conn)
					mu.Unlock()
					return
				}
			}()
		}
	}()
	c, err := Connect("tcp://"+ln.Addr().String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A followed log is open for its container's whole life, one per running
// container, so what it keeps between reads is paid hundreds of times
// over: its connection and the body's reader, not the answer's headers,
// the request or their maps.
func TestFollowedLogHoldsLittle(t *testing.T) {
	const n = 100
	c := holdingDaemon(t)
	ctx := context.Background()
	// One first, so that what every connection shares (the version
	// negotiation) is not counted.
	first, err := c.ContainerLogs(ctx, "c0", LogsOptions{Follow: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	before := testutil.LiveHeap()
	var open []io.Closer
	for range n {
		rc, err := c.ContainerLogs(ctx, "c1", LogsOptions{Follow: true, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, rc)
	}
	after := testutil.LiveHeap()
	per := (int64(after) - int64(before)) / n
	for _, rc := range open {
		rc.Close()
	}
	t.Logf("a followed log holds %d bytes (with the server's end of its loopback connection)", per)
	if per > 2<<10 {
		t.Errorf("a followed log holds %d bytes, want at most 2 KiB", per)
	}
}
