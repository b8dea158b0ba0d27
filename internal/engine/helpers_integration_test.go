package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// prefix marks everything these tests create on the shared daemon.
const prefix = "dlteng"

var seq atomic.Int64

// uniqueName returns a container name owned by these tests.
func uniqueName(t *testing.T) string {
	return fmt.Sprintf("%s-%s-%d-%d", prefix, strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano()%1e6, seq.Add(1))
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// busybox starts a registry, pushes the busybox test image and pulls it
// into the daemon through c. It returns the image reference; the image is
// removed when the test ends.
func busybox(t *testing.T, c *engine.Client, marker string) string {
	t.Helper()
	reg := testutil.StartRegistry(t)
	ref := reg.PushBusybox(t, prefix+"/busybox:"+marker, testutil.ImageOptions{Marker: prefix + "-" + marker})
	if err := c.PullImage(testCtx(t), ref, engine.PullOptions{}); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	removeImageAtEnd(t, c, ref)
	return ref
}

func removeImageAtEnd(t *testing.T, c *engine.Client, ref string) {
	t.Cleanup(func() {
		_, _ = c.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
	})
}

func removeContainerAtEnd(t *testing.T, c *engine.Client, id string) {
	t.Cleanup(func() {
		_ = c.RemoveContainer(context.Background(), id, engine.RemoveOptions{Force: true})
	})
}
