package pod

import (
	"net"
	"sync"
	"time"
)

// openUDP publishes a UDP port: each client address is a flow with a
// socket of its own to one endpoint (taken in turn when the flow starts,
// as conntrack pins a UDP flow), the endpoint's replies sent back from
// the published address. A flow ends after ProxyUDPIdle without a
// datagram either way; at most ProxyMaxConns flows at once, datagrams of
// further clients are dropped.
func (x *svcProxy) openUDP(l *published) error {
	pc, err := net.ListenPacket("udp", l.port.Addr)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	flows := map[string]net.Conn{}
	closed := false
	l.closer = func() {
		pc.Close()
		mu.Lock()
		closed = true
		for _, c := range flows {
			c.Close()
		}
		mu.Unlock()
	}
	l.conns.Add(1)
	go func() {
		defer l.conns.Done()
		buf := make([]byte, 64<<10)
		for {
			n, client, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			k := client.String()
			mu.Lock()
			up, ok := flows[k]
			if !ok && !closed && len(flows) < ProxyMaxConns {
				up = x.dialUDP(l)
				if up != nil {
					flows[k] = up
					l.conns.Add(1)
					go func() {
						defer l.conns.Done()
						x.udpReplies(pc, client, up)
						mu.Lock()
						delete(flows, k)
						mu.Unlock()
					}()
				}
			}
			mu.Unlock()
			if up != nil {
				// A flow closing meanwhile fails these: the datagram is
				// lost, as UDP may lose it.
				_ = up.SetReadDeadline(time.Now().Add(x.udpIdle))
				_, _ = up.Write(buf[:n])
			}
		}
	}()
	return nil
}

// dialUDP connects a flow's socket to the next endpoint in turn (nil:
// none is ready).
func (x *svcProxy) dialUDP(l *published) net.Conn {
	for _, b := range l.pick() {
		c, err := net.Dial("udp", b.Addr)
		if err == nil {
			return c
		}
	}
	return nil
}

// udpReplies sends the endpoint's datagrams back to the client until the
// flow is idle (the read deadline, pushed on by each datagram either way).
func (x *svcProxy) udpReplies(pc net.PacketConn, client net.Addr, up net.Conn) {
	defer up.Close()
	buf := make([]byte, 64<<10)
	for {
		if err := up.SetReadDeadline(time.Now().Add(x.udpIdle)); err != nil {
			return
		}
		n, err := up.Read(buf)
		if err != nil {
			return
		}
		if _, err := pc.WriteTo(buf[:n], client); err != nil {
			return
		}
	}
}
