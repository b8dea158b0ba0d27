package enginetest

import (
	"testing"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// Connect returns a Client for the test daemon, closed when the test ends.
// Without Docker the test is skipped (or fails under DOCKERLET_E2E=1; see
// testutil.RequireDocker).
func Connect(t testing.TB, opts engine.Options) *engine.Client {
	t.Helper()
	testutil.RequireDocker(t)
	c, err := engine.Connect(testutil.DockerHost(), opts)
	if err != nil {
		t.Fatalf("connect to %s: %v", testutil.DockerHost(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
