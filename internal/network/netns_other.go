//go:build !linux

package network

import (
	"fmt"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func pinNetNS(src, target string) error {
	return fmt.Errorf("pin netns: %w", engine.ErrNotImplemented)
}

func isPinnedNetNS(string) bool { return false }

func unpinNetNS(string) error { return nil }
