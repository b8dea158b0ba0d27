package pod

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// tcpBackend answers each connection with its name and the first line it
// read, then closes.
func tcpBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, name+":"+line)
			}()
		}
	}()
	return ln.Addr().String()
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func askTCP(t *testing.T, addr, msg string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, msg+"\n")
	c.(*net.TCPConn).CloseWrite() // the reply still comes back through the proxy
	b, err := io.ReadAll(c)
	return strings.TrimSpace(string(b)), err
}

func TestSvcProxyTCP(t *testing.T) {
	x := newSvcProxy(slog.New(slog.DiscardHandler))
	defer x.closeAll()
	a, b := tcpBackend(t, "a"), tcpBackend(t, "b")
	dead := freeAddr(t, "tcp")
	addr := freeAddr(t, "tcp")
	port := PublishedPort{Service: "app/web", Protocol: "TCP", Addr: addr,
		Backends: []Backend{{Pod: "app/a", Addr: a}, {Pod: "app/dead", Addr: dead}, {Pod: "app/b", Addr: b}}}
	x.sync([]PublishedPort{port})
	// Spread over the endpoints; the one that refuses is skipped.
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		got, err := askTCP(t, addr, "hello")
		if err != nil {
			t.Fatal(err)
		}
		name, line, _ := strings.Cut(got, ":")
		if line != "hello" {
			t.Fatalf("reply %q", got)
		}
		seen[name]++
	}
	if seen["a"] == 0 || seen["b"] == 0 || len(seen) != 2 {
		t.Errorf("replies by endpoint: %v", seen)
	}
	// New endpoints: only b.
	port.Backends = []Backend{{Pod: "app/b", Addr: b}}
	x.sync([]PublishedPort{port})
	for i := 0; i < 3; i++ {
		if got, err := askTCP(t, addr, "x"); err != nil || got != "b:x" {
			t.Fatalf("after the endpoints changed: %q %v", got, err)
		}
	}
	// No endpoint: accepted and closed.
	port.Backends = nil
	x.sync([]PublishedPort{port})
	if got, _ := askTCP(t, addr, "x"); got != "" {
		t.Errorf("with no endpoint: %q", got)
	}
	// The Service goes: the port is closed.
	x.sync(nil)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("still listening after the Service went")
	}
}

func TestSvcProxyTCPIdle(t *testing.T) {
	x := newSvcProxy(slog.New(slog.DiscardHandler))
	x.idle = 300 * time.Millisecond
	defer x.closeAll()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // holds it open, says nothing
		}
	}()
	addr := freeAddr(t, "tcp")
	x.sync([]PublishedPort{{Service: "app/s", Protocol: "TCP", Addr: addr, Backends: []Backend{{Addr: silent.Addr().String()}}}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read: %v, want EOF (closed when idle)", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %s", d)
	}
}

func TestSvcProxyPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var logs strings.Builder
	x := newSvcProxy(slog.New(slog.NewTextHandler(&logs, nil)))
	defer x.closeAll()
	other := freeAddr(t, "tcp")
	a := tcpBackend(t, "a")
	x.sync([]PublishedPort{
		{Service: "app/busy", Protocol: "TCP", Addr: ln.Addr().String()},
		{Service: "app/free", Protocol: "TCP", Addr: other, Backends: []Backend{{Addr: a}}},
	})
	x.sync([]PublishedPort{ // a second reload warns no more
		{Service: "app/busy", Protocol: "TCP", Addr: ln.Addr().String()},
		{Service: "app/free", Protocol: "TCP", Addr: other, Backends: []Backend{{Addr: a}}},
	})
	if n := strings.Count(logs.String(), "cannot listen"); n != 1 || !strings.Contains(logs.String(), "app/busy") {
		t.Errorf("want one warning naming app/busy:\n%s", logs.String())
	}
	if got, err := askTCP(t, other, "y"); err != nil || got != "a:y" {
		t.Errorf("the other Service: %q %v", got, err)
	}
}

func TestSvcProxyUDP(t *testing.T) {
	echo := func(name string) string {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		go func() {
			buf := make([]byte, 1500)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo([]byte(name+":"+string(buf[:n])), from)
			}
		}()
		return pc.LocalAddr().String()
	}
	x := newSvcProxy(slog.New(slog.DiscardHandler))
	defer x.closeAll()
	addr := freeAddr(t, "udp")
	x.sync([]PublishedPort{{Service: "app/dns", Protocol: "UDP", Addr: addr,
		Backends: []Backend{{Addr: echo("a")}, {Addr: echo("b")}}}})
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		// Each client socket is a flow of its own, pinned to one endpoint.
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		var first string
		for j := 0; j < 2; j++ {
			c.SetDeadline(time.Now().Add(3 * time.Second))
			c.Write([]byte("q"))
			buf := make([]byte, 100)
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got := string(buf[:n])
			if first == "" {
				first = got
			} else if got != first {
				t.Errorf("one flow answered by two endpoints: %q, %q", first, got)
			}
		}
		seen[first] = true
		c.Close()
	}
	if !seen["a:q"] || !seen["b:q"] {
		t.Errorf("replies: %v", seen)
	}
}
