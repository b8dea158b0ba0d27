package localimage_test

import (
	"context"
	"os"
	"testing"

	"github.com/dockerlet/dockerlet/internal/pod/localimage"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// TestLoadIntoDocker loads both images into the real engine and checks
// that Docker knows them by name.
func TestLoadIntoDocker(t *testing.T) {
	testutil.RequireDocker(t)
	if _, err := os.Stat(localimage.DefaultBusyboxPath); err != nil {
		t.Skipf("no %s (apt-get install busybox-static)", localimage.DefaultBusyboxPath)
	}
	l, err := localimage.NewDockerLoader("")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	b := &localimage.Builder{Loader: l}
	for _, ref := range []string{localimage.Busybox, localimage.Pause} {
		if _, err := b.Ensure(ctx, ref); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if _, err := l.Client.ImageInspect(ctx, ref); err != nil {
			t.Fatalf("%s not in Docker after load: %v", ref, err)
		}
	}
}
