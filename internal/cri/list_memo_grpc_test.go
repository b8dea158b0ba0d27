package cri

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A remembered relist is sent from its stored encoding by every call at
// once: over a real gRPC connection, with responses of several HTTP/2
// frames, every client decodes the response the handler made.
func TestRelistRememberedOverGRPC(t *testing.T) {
	n := newCachedNode(t, 80)
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(Interceptors(slog.New(slog.NewTextHandler(io.Discard, nil)))...)
	runtimeapi.RegisterRuntimeServiceServer(srv, n.svc)
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	ctx := context.Background()
	wantSbs, err := n.svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantCs, err := n.svc.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := wireOf(wantSbs); !ok {
		t.Fatal("the sandbox relist is not remembered: the test would not cover the pieces")
	}
	if size := proto.Size(wantCs); size < 16<<10 {
		t.Fatalf("the container relist is %d bytes: want more than one HTTP/2 frame", size)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 30 {
				sbs, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
				if err != nil || !proto.Equal(sbs, wantSbs) {
					t.Errorf("ListPodSandbox over gRPC: %d items (want %d), %v", len(sbs.GetItems()), len(wantSbs.Items), err)
					return
				}
				cs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
				if err != nil || !proto.Equal(cs, wantCs) {
					t.Errorf("ListContainers over gRPC: %d items (want %d), %v", len(cs.GetContainers()), len(wantCs.Containers), err)
					return
				}
			}
		})
	}
	wg.Wait()
}
