package cri

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The in-process gate answers as the gRPC server does: hostile requests
// are InvalidArgument before any handler runs, errors carry codes.
func TestInProcessGate(t *testing.T) {
	h := newHarness(t)
	g := h.svc.InProcess(nil)
	ctx := context.Background()

	bad := sandboxConfig("x")
	bad.Metadata.Name = strings.Repeat("n", 300)
	_, err := g.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: bad})
	if st, ok := status.FromError(err); !ok || st.Code() != codes.InvalidArgument {
		t.Errorf("oversized pod name: %v, want an InvalidArgument status", err)
	}
	if n := len(h.fake.ContainerIDs()); n != 0 {
		t.Errorf("%d containers made by a refused request", n)
	}
	cfg := containerConfig("c")
	cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
		MaskedPaths: make([]string, 5000),
	}}
	if _, err := g.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: "abc", Config: cfg}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("5000 masked paths: %v, want InvalidArgument", err)
	}
	if _, err := g.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: strings.Repeat("f", 64)}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown container: %v, want NotFound", err)
	}
	resp, err := g.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("ok")})
	if err != nil || len(resp.GetPodSandboxId()) != 64 {
		t.Fatalf("valid request: %v %v", resp, err)
	}
}

// Every unary RPC goes through the gate: called with an empty request, each
// either succeeds or answers a gRPC status with a code — never a raw Go
// error and never a panic (an ungated handler given a nil message would).
func TestInProcessGatesEveryUnaryRPC(t *testing.T) {
	h := newHarness(t)
	g := reflect.ValueOf(h.svc.InProcess(nil))
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	n := 0
	for _, iface := range []reflect.Type{reflect.TypeFor[runtimeapi.RuntimeServiceServer](), reflect.TypeFor[runtimeapi.ImageServiceServer]()} {
		for i := range iface.NumMethod() {
			m := iface.Method(i)
			ft := m.Type
			if ft.NumIn() != 2 || ft.In(0) != ctxType || ft.NumOut() != 2 || ft.Out(1) != errType {
				continue // streaming or unexported
			}
			n++
			req := reflect.New(ft.In(1).Elem())
			for _, r := range []reflect.Value{req, reflect.Zero(ft.In(1))} { // empty, then nil
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("%s: panic %v", m.Name, p)
						}
					}()
					out := g.MethodByName(m.Name).Call([]reflect.Value{reflect.ValueOf(context.Background()), r})
					err, _ := out[1].Interface().(error)
					if err == nil {
						return
					}
					if st, ok := status.FromError(err); !ok || st.Code() == codes.Unknown {
						t.Errorf("%s: %T %v, want a gRPC status", m.Name, err, err)
					}
				}()
			}
		}
	}
	if n < 36 {
		t.Errorf("checked %d unary RPCs, want all 36", n)
	}
}
