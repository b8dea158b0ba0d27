package fake

import (
	"testing"

	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

// TestContract runs the checks that the real dockerd also passes
// (internal/engine's TestIntegrationContract).
func TestContract(t *testing.T) {
	f := New()
	f.AddImage(image.InspectResponse{RepoTags: []string{"127.0.0.1:5999/dlteng/contract:1"}})
	enginetest.Run(t, f, "127.0.0.1:5999/dlteng/contract:1", "dlteng")
}
