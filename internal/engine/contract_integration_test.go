package engine_test

import (
	"testing"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

// TestIntegrationContract runs against dockerd the checks the fake passes
// (internal/engine/fake's TestContract).
func TestIntegrationContract(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	img := busybox(t, c, "contract")
	enginetest.Run(t, c, img, prefix)
}
