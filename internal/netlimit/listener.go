package netlimit

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Listener caps the connections of a net.Listener that are open at once.
type Listener struct {
	net.Listener
	max      int64
	name     string
	log      *slog.Logger
	active   atomic.Int64
	rejected atomic.Int64
	warned   atomic.Int64 // unix nanoseconds of the last warning
}

// Limit wraps l so that at most max of its connections are open at once
// (max <= 0: no cap). A connection above the cap is closed as soon as it is
// accepted and counted; a warning says so at most every 10 seconds. name
// is the listener's name in the log.
func Limit(l net.Listener, max int, name string, log *slog.Logger) *Listener {
	if log == nil {
		log = slog.Default()
	}
	return &Listener{Listener: l, max: int64(max), name: name, log: log}
}

// Accept returns the next connection within the cap.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if n := l.active.Add(1); l.max > 0 && n > l.max {
			// Counted before the close: whoever sees the close sees the count.
			l.active.Add(-1)
			l.reject()
			c.Close()
			continue
		}
		return &conn{Conn: c, l: l}, nil
	}
}

func (l *Listener) reject() {
	n := l.rejected.Add(1)
	now := time.Now().UnixNano()
	last := l.warned.Load()
	if now-last < int64(10*time.Second) || !l.warned.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("connection cap reached: closing new connections at once", "listener", l.name, "max", l.max, "rejected", n)
}

// Active is the number of connections open now.
func (l *Listener) Active() int { return int(l.active.Load()) }

// Rejected is the number of connections closed for the cap so far.
func (l *Listener) Rejected() int { return int(l.rejected.Load()) }

// Max is the cap (0: none).
func (l *Listener) Max() int { return int(l.max) }

type conn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

// CloseWrite half-closes the connection when the underlying one can (a
// TCP connection): a proxy passes a client's half-close on.
func (c *conn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.active.Add(-1) })
	return err
}
