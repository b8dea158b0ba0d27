package open

import (
	"context"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

func TestFakeEndpoint(t *testing.T) {
	e, closeFn, err := Engine("fake://", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, ok := e.(*fake.Fake); !ok {
		t.Fatalf("fake:// gave %T", e)
	}
	if err := e.PullImage(context.Background(), "busybox", engine.PullOptions{}); err != nil {
		t.Fatalf("demo fake should allow pulls: %v", err)
	}
}

func TestDockerEndpoint(t *testing.T) {
	e, closeFn, err := Engine("unix:///nonexistent/docker.sock", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, ok := e.(*engine.Client); !ok {
		t.Fatalf("unix:// gave %T", e)
	}
	if _, err := e.Version(context.Background()); !errdefs.IsUnavailable(err) {
		t.Fatalf("version against a missing socket: %v, want ErrUnavailable", err)
	}
	if _, _, err := Engine("no-scheme", engine.Options{}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad endpoint: %v, want ErrInvalidArgument", err)
	}
}
