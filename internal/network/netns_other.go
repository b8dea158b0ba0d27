//go:build !linux

package network

import (
	"fmt"
	"net"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func pinNetNS(src, target string) error {
	return fmt.Errorf("pin netns: %w", engine.ErrNotImplemented)
}

func isPinnedNetNS(string) bool { return false }

func unpinNetNS(string) error { return nil }

func addrsInNetNS(string, string) ([]*net.IPNet, error) {
	return nil, fmt.Errorf("addresses in netns: %w", engine.ErrNotImplemented)
}
