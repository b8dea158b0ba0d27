//go:build !linux

package network

import (
	"fmt"
	"net"

	"github.com/containerd/errdefs"
)

func pinNetNS(src, target string) error {
	return fmt.Errorf("pin netns: %w", errdefs.ErrNotImplemented)
}

func isPinnedNetNS(string) bool { return false }

func unpinNetNS(string) error { return nil }

func addrsInNetNS(string, string) ([]*net.IPNet, error) {
	return nil, fmt.Errorf("addresses in netns: %w", errdefs.ErrNotImplemented)
}

func loopbackUp(string) error {
	return fmt.Errorf("lo up: %w", errdefs.ErrNotImplemented)
}
