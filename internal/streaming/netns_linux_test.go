package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// testNetNS is a network namespace with its loopback up, held by a locked
// OS thread that runs functions inside it until the test ends.
type testNetNS struct {
	path string
	run  chan func()
}

func newTestNetNS(t *testing.T) *testNetNS {
	t.Helper()
	ns := &testNetNS{run: make(chan func())}
	ready := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		// Never unlocked: the thread dies with the namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- err
			return
		}
		if err := loopbackUp(); err != nil {
			ready <- err
			return
		}
		ns.path = fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		ready <- nil
		for {
			select {
			case f := <-ns.run:
				f()
			case <-stop:
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("cannot create a network namespace here (needs CAP_SYS_ADMIN): %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { close(stop) })
	return ns
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// listen opens a listener inside the namespace.
func (ns *testNetNS) listen(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	done := make(chan struct{})
	ns.run <- func() { ln, err = net.Listen(network, addr); close(done) }
	<-done
	if err != nil {
		t.Skipf("listen %s %s in the test namespace: %v", network, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestDialLoopbackInNetNS(t *testing.T) {
	ns := newTestNetNS(t)
	ctx := context.Background()
	// A port free on the host, so that reaching it proves the dial
	// happened inside the namespace.
	hostFree, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := hostFree.Addr().(*net.TCPAddr).Port
	hostFree.Close()

	tests := []struct {
		name, network, addr string
	}{
		{"ipv4", "tcp4", fmt.Sprintf("127.0.0.1:%d", freePort)},
		{"ipv6 fallback", "tcp6", "[::1]:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := ns.listen(t, tt.network, tt.addr)
			echoServer(t, ln)
			port := ln.Addr().(*net.TCPAddr).Port

			conn, err := dialLoopback(ctx, ns.path, port)
			if err != nil {
				t.Fatalf("dial port %d in the namespace: %v", port, err)
			}
			got, err := roundTripConn(conn, "ping")
			if err != nil || got != "echo:ping" {
				t.Fatalf("round trip in the namespace: %q, %v", got, err)
			}
			if port == freePort {
				if hostConn, err := dialLoopback(ctx, "", port); err == nil {
					hostConn.Close()
					t.Fatalf("port %d answered on the host's loopback too", port)
				}
			}
		})
	}

	t.Run("closed port", func(t *testing.T) {
		ln := ns.listen(t, "tcp4", "127.0.0.1:0")
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if _, err := dialLoopback(ctx, ns.path, port); err == nil {
			t.Fatal("dial to a closed port succeeded")
		}
	})

	t.Run("bad path", func(t *testing.T) {
		if _, err := dialLoopback(ctx, "/nonexistent/ns/net", 80); err == nil {
			t.Fatal("dial in a missing namespace succeeded")
		}
	})

	t.Run("thread restored", func(t *testing.T) {
		// After many dials in the namespace, this process's network is
		// still the host's: a host listener is reachable from any thread.
		host, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		echoServer(t, host)
		inner := ns.listen(t, "tcp4", "127.0.0.1:0")
		echoServer(t, inner)
		for i := 0; i < 50; i++ {
			c, err := dialLoopback(ctx, ns.path, inner.Addr().(*net.TCPAddr).Port)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			h, err := net.Dial("tcp4", host.Addr().String())
			if err != nil {
				t.Fatalf("host dial after namespace dial %d: %v", i, err)
			}
			h.Close()
		}
	})
}

func roundTripConn(conn net.Conn, msg string) (string, error) {
	defer conn.Close()
	if _, err := io.WriteString(conn, msg); err != nil {
		return "", err
	}
	conn.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(conn)
	return string(b), err
}
