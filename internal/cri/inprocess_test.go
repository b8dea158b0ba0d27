package cri

import (
	"context"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
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

// rpcLog records which RPCs the gate logged.
type rpcLog struct {
	mu    sync.Mutex
	attrs []slog.Attr
	seen  map[string]bool
}

func (l *rpcLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *rpcLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.attrs {
		if a.Key == "rpc" {
			l.seen[a.Value.String()] = true
		}
	}
	return nil
}
func (l *rpcLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &rpcLog{attrs: append(slices.Clone(l.attrs), as...), seen: l.seen}
}
func (l *rpcLog) WithGroup(string) slog.Handler { return l }

// nullStream is a server stream that drops what it is sent.
type nullStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s nullStream) Context() context.Context { return s.ctx }
func (s nullStream) SendMsg(any) error        { return nil }

// Every RPC of both services, unary and streaming, goes through the gate:
// the gate logs it, and called with an empty request each either succeeds
// or answers a gRPC status with a code — never a raw Go error and never a
// panic (an ungated handler given a nil message would).
func TestInProcessGatesEveryRPC(t *testing.T) {
	h := newHarness(t)
	log := &rpcLog{seen: map[string]bool{}}
	g := reflect.ValueOf(h.svc.InProcess(slog.New(log)))
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	// A cancelled ctx ends the streams (GetContainerEvents) at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ns := nullStream{ctx: ctx}
	type gs[Req, Resp any] = grpc.GenericServerStream[Req, Resp]
	streams := map[string]any{
		"StreamPodSandboxes":      &gs[runtimeapi.StreamPodSandboxesRequest, runtimeapi.StreamPodSandboxesResponse]{ServerStream: ns},
		"StreamContainers":        &gs[runtimeapi.StreamContainersRequest, runtimeapi.StreamContainersResponse]{ServerStream: ns},
		"StreamContainerStats":    &gs[runtimeapi.StreamContainerStatsRequest, runtimeapi.StreamContainerStatsResponse]{ServerStream: ns},
		"StreamPodSandboxStats":   &gs[runtimeapi.StreamPodSandboxStatsRequest, runtimeapi.StreamPodSandboxStatsResponse]{ServerStream: ns},
		"StreamPodSandboxMetrics": &gs[runtimeapi.StreamPodSandboxMetricsRequest, runtimeapi.StreamPodSandboxMetricsResponse]{ServerStream: ns},
		"StreamImages":            &gs[runtimeapi.StreamImagesRequest, runtimeapi.StreamImagesResponse]{ServerStream: ns},
		"GetContainerEvents":      &gs[runtimeapi.GetEventsRequest, runtimeapi.ContainerEventResponse]{ServerStream: ns},
	}
	var names []string
	check := func(name string, out []reflect.Value) {
		err, _ := out[len(out)-1].Interface().(error)
		if err == nil {
			return
		}
		if st, ok := status.FromError(err); !ok || st.Code() == codes.Unknown {
			t.Errorf("%s: %T %v, want a gRPC status", name, err, err)
		}
	}
	for _, iface := range []reflect.Type{reflect.TypeFor[runtimeapi.RuntimeServiceServer](), reflect.TypeFor[runtimeapi.ImageServiceServer]()} {
		for i := range iface.NumMethod() {
			m := iface.Method(i)
			ft := m.Type
			if !m.IsExported() || ft.NumOut() == 0 || ft.Out(ft.NumOut()-1) != errType {
				continue
			}
			names = append(names, m.Name)
			unary := ft.NumIn() == 2 && ft.In(0) == ctxType
			reqType := ft.In(0)
			if unary {
				reqType = ft.In(1)
			}
			for _, r := range []reflect.Value{reflect.New(reqType.Elem()), reflect.Zero(reqType)} { // empty, then nil
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("%s: panic %v", m.Name, p)
						}
					}()
					if unary {
						check(m.Name, g.MethodByName(m.Name).Call([]reflect.Value{reflect.ValueOf(context.Background()), r}))
						return
					}
					stream, ok := streams[m.Name]
					if !ok {
						t.Fatalf("%s: a streaming RPC this test has no stream for", m.Name)
					}
					check(m.Name, g.MethodByName(m.Name).Call([]reflect.Value{r, reflect.ValueOf(stream)}))
				}()
			}
		}
	}
	if len(names) < 43 {
		t.Errorf("checked %d RPCs, want all 43", len(names))
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, n := range names {
		if !log.seen[n] {
			t.Errorf("%s did not pass the gate", n)
		}
	}
}
