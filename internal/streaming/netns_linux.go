package streaming

import (
	"net"

	"github.com/dockerlet/dockerlet/internal/netns"
)

// inNetNS runs dial on an OS thread switched into the network namespace at
// nsPath. Sockets keep the namespace they were created in, so the
// connection stays inside the pod after the thread switches back.
func inNetNS(nsPath string, dial func() (net.Conn, error)) (net.Conn, error) {
	var conn net.Conn
	err := netns.Do(nsPath, func() (err error) {
		conn, err = dial()
		return err
	})
	return conn, err
}
