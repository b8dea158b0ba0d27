package node_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/image"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/node"
)

// A node over the fake engine answers as serve's does: through the gate
// (bad input is InvalidArgument before any engine call) over gRPC and in
// process alike, and from its cache.
func TestNodeServesThroughTheGate(t *testing.T) {
	ctx := context.Background()
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{cri.DefaultPodInfraImage}})
	n, err := node.New(ctx, node.Options{Engine: f, RootDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !n.Engine.Synced() {
		t.Error("the cache did not sync over the fake")
	}

	lis := bufconn.Listen(1 << 20)
	srv := n.GRPCServer()
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///node", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	overGRPC := runtimeapi.NewRuntimeServiceClient(conn)
	inProcess := n.InProcess()

	bad := &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: strings.Repeat("n", 300), Namespace: "ns", Uid: "u"},
	}}
	f.ResetCalls()
	if _, err := overGRPC.RunPodSandbox(ctx, bad); status.Code(err) != codes.InvalidArgument {
		t.Errorf("over gRPC: %v, want InvalidArgument", err)
	}
	if _, err := inProcess.RunPodSandbox(ctx, bad); status.Code(err) != codes.InvalidArgument {
		t.Errorf("in process: %v, want InvalidArgument", err)
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("a refused request reached the engine: %v", calls)
	}
	v, err := overGRPC.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil || v.RuntimeApiVersion != "v1" {
		t.Errorf("Version: %v %v", v, err)
	}
}

func TestNodeNeedsAnEngine(t *testing.T) {
	if _, err := node.New(context.Background(), node.Options{RootDir: t.TempDir()}); err == nil {
		t.Fatal("a node without an engine")
	}
}
