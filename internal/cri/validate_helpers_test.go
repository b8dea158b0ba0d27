package cri

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// grpcClients serves the harness's Service over an in-memory connection
// with the real interceptors, as `dockerlet serve` does.
func (h *harness) grpcClients() (runtimeapi.RuntimeServiceClient, runtimeapi.ImageServiceClient) {
	h.t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(Interceptors(slog.New(slog.NewTextHandler(io.Discard, nil)))...)
	runtimeapi.RegisterRuntimeServiceServer(srv, h.svc)
	runtimeapi.RegisterImageServiceServer(srv, h.svc)
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { conn.Close(); srv.Stop() })
	return runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
}

// badUTF8 is a marker that corruptingCodec replaces on the wire with bytes
// that are not UTF-8 (Go's proto encoder refuses to send them itself).
const badUTF8 = "\x01BADUTF8MARK\x01"

type corruptingCodec struct{}

func (corruptingCodec) Name() string { return "proto" }

func (corruptingCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, []byte(badUTF8), bytes.Repeat([]byte{0xff}, len(badUTF8)))
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (corruptingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

var corrupt = grpc.ForceCodecV2(corruptingCodec{})

func withSandbox(mut func(c *runtimeapi.PodSandboxConfig)) *runtimeapi.RunPodSandboxRequest {
	c := sandboxConfig("v")
	mut(c)
	return &runtimeapi.RunPodSandboxRequest{Config: c}
}

func withContainer(mut func(c *runtimeapi.ContainerConfig)) *runtimeapi.CreateContainerRequest {
	c := containerConfig("v")
	mut(c)
	return &runtimeapi.CreateContainerRequest{PodSandboxId: strings.Repeat("a", 64), Config: c, SandboxConfig: sandboxConfig("v")}
}

func withSecurity(mut func(sc *runtimeapi.LinuxContainerSecurityContext)) *runtimeapi.CreateContainerRequest {
	return withContainer(func(c *runtimeapi.ContainerConfig) {
		c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{}}
		mut(c.Linux.SecurityContext)
	})
}

func manyStrings(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}
