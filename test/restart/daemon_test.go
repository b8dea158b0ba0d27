package restart

import (
	"context"
	"os"
	"testing"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
)

// startDaemon starts a private dockerd (live-restore as asked), connects
// to it and pulls image into it; it also makes the server's root
// directory, named after dirPrefix. All are removed when the test ends.
func startDaemon(ctx context.Context, t *testing.T, live bool, image, dirPrefix string) (*privdockerd.Daemon, *engine.Client, string) {
	t.Helper()
	d := privdockerd.Start(t, privdockerd.Options{LiveRestore: live})
	eng, err := engine.Connect(d.Host, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if err := eng.PullImage(ctx, image, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o750)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return d, eng, dir
}
