//go:build !linux

package streaming

import (
	"errors"
	"net"
)

func inNetNS(string, func() (net.Conn, error)) (net.Conn, error) {
	return nil, errors.New("network namespaces are only supported on Linux")
}
