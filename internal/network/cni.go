package network

import (
	"fmt"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func newCNI(Config) (Plugin, error) {
	return nil, fmt.Errorf("network plugin %q: %w", PluginCNI, engine.ErrNotImplemented)
}
