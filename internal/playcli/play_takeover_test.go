package playcli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/image"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/node"
)

// The supervising play process goes through serve's gates: requests are
// validated before they reach the service, and what a crashed earlier
// supervisor left half made is rolled back at take-over.
func TestPlayTakeOverReconcilesAndValidates(t *testing.T) {
	eng := fake.New()
	eng.AddImage(image.InspectResponse{RepoTags: []string{cri.DefaultPodInfraImage}})
	root := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	newEnv := func() *playEnv {
		n, err := node.New(context.Background(), node.Options{Engine: eng, Logger: logger, RootDir: root})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Close)
		return &playEnv{svc: n.InProcess(), node: n, logger: logger}
	}
	ctx := context.Background()
	first := newEnv()
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "dlrob2-half", Namespace: "default", Uid: "u1"},
	}
	resp, err := first.svc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	// The crash: RunPodSandbox's checkpoint never reached "complete".
	if err := os.Remove(filepath.Join(root, "sandboxes", resp.PodSandboxId+".json")); err != nil {
		t.Fatal(err)
	}

	second := newEnv()
	bad := &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "Bad Name!", Namespace: "default", Uid: "u2"}}
	if _, err := second.svc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: bad}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("invalid pod name through play: %v, want InvalidArgument", err)
	}
	if ids := eng.ContainerIDs(); len(ids) != 1 {
		t.Fatalf("%d containers before take-over, want the half-made sandbox", len(ids))
	}
	second.takeOver(ctx)
	if ids := eng.ContainerIDs(); len(ids) != 0 {
		t.Errorf("take-over left %d containers: the half-made sandbox was not rolled back", len(ids))
	}
}
