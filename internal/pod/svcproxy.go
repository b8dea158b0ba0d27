package pod

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/netlimit"
)

// Bounds of a published Service port, as every listener of dockerlet is
// bounded (internal/netlimit): a cap of connections (TCP) or clients
// (UDP) at once, and an idle timeout.
const (
	ProxyMaxConns    = 256
	ProxyIdleTimeout = 10 * time.Minute // TCP: no byte either way
	ProxyUDPIdle     = 30 * time.Second // UDP: a client's flow, as conntrack ages one
	proxyDialTimeout = 3 * time.Second
)

// svcProxy holds the supervisor's published Service ports (svcplan.go):
// one listener per address and protocol, forwarding to the Service's
// ready endpoints, taken in turn; a connection that an endpoint refuses
// goes to the next one (fail over).
type svcProxy struct {
	log       *slog.Logger
	idle      time.Duration
	udpIdle   time.Duration
	listeners map[string]*published // by protocol/addr
	failed    map[string]bool       // addresses whose listen failed, warned once
}

func newSvcProxy(log *slog.Logger) *svcProxy {
	return &svcProxy{log: log, idle: ProxyIdleTimeout, udpIdle: ProxyUDPIdle,
		listeners: map[string]*published{}, failed: map[string]bool{}}
}

type published struct {
	port     PublishedPort
	backends atomic.Pointer[[]Backend]
	next     atomic.Uint32
	closer   func()
	conns    sync.WaitGroup
}

// sync opens the ports of ps that are not open, gives open ones their
// current endpoints, and closes those ps no longer has.
func (x *svcProxy) sync(ps []PublishedPort) {
	want := map[string]bool{}
	for _, p := range ps {
		k := string(p.Protocol) + "/" + p.Addr
		want[k] = true
		if l, ok := x.listeners[k]; ok {
			if l.port.Service != p.Service {
				l.close()
				delete(x.listeners, k)
			} else {
				l.backends.Store(&p.Backends)
				continue
			}
		}
		l := &published{port: p}
		l.backends.Store(&p.Backends)
		if err := x.open(l); err != nil {
			if !x.failed[k] {
				x.failed[k] = true
				x.log.Warn("Service port not published: cannot listen", "service", p.Service, "protocol", p.Protocol, "address", p.Addr, "error", err)
			}
			continue
		}
		delete(x.failed, k)
		x.listeners[k] = l
		x.log.Info("Service port published", "service", p.Service, "protocol", p.Protocol, "address", p.Addr)
	}
	for k, l := range x.listeners {
		if !want[k] {
			l.close()
			delete(x.listeners, k)
			x.log.Info("Service port closed", "service", l.port.Service, "protocol", l.port.Protocol, "address", l.port.Addr)
		}
	}
	for k := range x.failed {
		if !want[k] {
			delete(x.failed, k)
		}
	}
}

// closeAll closes every listener and its connections.
func (x *svcProxy) closeAll() {
	for k, l := range x.listeners {
		l.close()
		delete(x.listeners, k)
	}
}

func (l *published) close() {
	l.closer()
	l.conns.Wait()
}

// pick returns the endpoints in the order to try: the next in turn first.
func (l *published) pick() []Backend {
	bs := *l.backends.Load()
	if len(bs) == 0 {
		return nil
	}
	n := int(l.next.Add(1)) % len(bs)
	return append(append([]Backend(nil), bs[n:]...), bs[:n]...)
}

func (x *svcProxy) open(l *published) error {
	switch l.port.Protocol {
	case corev1.ProtocolTCP:
		ln, err := net.Listen("tcp", l.port.Addr)
		if err != nil {
			return err
		}
		limited := netlimit.Limit(ln, ProxyMaxConns, "service "+l.port.Service+" "+l.port.Addr, x.log)
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		open := map[net.Conn]bool{}
		closed := false
		l.closer = func() {
			cancel()
			ln.Close()
			mu.Lock()
			closed = true
			for c := range open {
				c.Close()
			}
			mu.Unlock()
		}
		l.conns.Add(1)
		go func() {
			defer l.conns.Done()
			for {
				c, err := limited.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				if closed { // accepted as the port closed
					mu.Unlock()
					c.Close()
					return
				}
				open[c] = true
				l.conns.Add(1)
				mu.Unlock()
				go func() {
					defer l.conns.Done()
					x.serveTCP(ctx, l, c)
					mu.Lock()
					delete(open, c)
					mu.Unlock()
				}()
			}
		}()
		return nil
	case corev1.ProtocolUDP:
		return x.openUDP(l)
	}
	return errors.New("only TCP and UDP ports are published")
}

// serveTCP forwards one client connection to the first endpoint that
// takes it, until either side closes or nothing moves for the idle time.
func (x *svcProxy) serveTCP(ctx context.Context, l *published, c net.Conn) {
	defer c.Close()
	var up net.Conn
	for _, b := range l.pick() {
		d := net.Dialer{Timeout: proxyDialTimeout}
		conn, err := d.DialContext(ctx, "tcp", b.Addr)
		if err == nil {
			up = conn
			break
		}
		x.log.Debug("Service endpoint refused a connection; trying the next", "service", l.port.Service, "pod", b.Pod, "error", err)
	}
	if up == nil {
		return // no ready endpoint took it: the client sees the connection closed
	}
	defer up.Close()
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	done := make(chan bool, 2)
	go func() { done <- x.pipe(up, c, &last) }()
	go func() { done <- x.pipe(c, up, &last) }()
	if !<-done {
		// Not a half-close: close both so the other copy ends too.
		c.Close()
		up.Close()
	}
	<-done
}

// pipe copies src to dst; a read that waits past the idle time ends it
// unless the other direction moved meanwhile. It reports true when src
// ended cleanly and dst was half-closed in turn (the other direction
// goes on, as a half-closed connection does).
func (x *svcProxy) pipe(dst, src net.Conn, last *atomic.Int64) bool {
	buf := make([]byte, 32<<10)
	for {
		if err := src.SetReadDeadline(time.Now().Add(x.idle)); err != nil {
			return false
		}
		n, err := src.Read(buf)
		if n > 0 {
			last.Store(time.Now().UnixNano())
			if werr := dst.SetWriteDeadline(time.Now().Add(x.idle)); werr != nil {
				return false
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return false
			}
		}
		switch {
		case err == nil:
		case isTimeout(err) && time.Since(time.Unix(0, last.Load())) < x.idle:
		case errors.Is(err, io.EOF):
			hc, ok := dst.(interface{ CloseWrite() error })
			return ok && hc.CloseWrite() == nil
		default:
			return false
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
