package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/naming"
	"github.com/dockerlet/dockerlet/internal/netlimit"
)

func TestListenAddr(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"9090", "127.0.0.1:9090", ""},
		{":9090", "127.0.0.1:9090", ""},
		{"0.0.0.0:9090", "0.0.0.0:9090", ""},
		{"[::1]:9090", "[::1]:9090", ""},
		{"localhost:0", "localhost:0", ""},
		{"", "", "empty"},
		{"host", "", "HOST:PORT"},
		{"host:http", "", "bad port"},
		{"99999", "", "HOST:PORT"},
	}
	for _, tc := range cases {
		got, err := ListenAddr(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestWrapEngine(t *testing.T) {
	m := New("test")
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	eng := m.WrapEngine(f)
	ctx := context.Background()

	id, err := eng.CreateContainer(ctx, engine.CreateSpec{Name: "c1", Config: &container.Config{Image: "busybox"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.InspectContainer(ctx, "nosuch"); !errdefs.IsNotFound(err) {
		t.Fatalf("inspect: %v", err)
	}
	f.InjectError("StartContainer", fmt.Errorf("slow: %w", context.DeadlineExceeded))
	if err := eng.StartContainer(ctx, id); err == nil {
		t.Fatal("injected error lost")
	}
	if err := f.AllowPull("example.com/app:v1", nil); err != nil {
		t.Fatal(err)
	}
	if err := eng.PullImage(ctx, "example.com/app:v1", engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = eng.PullImage(ctx, "example.com/absent:v1", engine.PullOptions{})

	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"create ops", testutil.ToFloat64(m.dockerOps.WithLabelValues("CreateContainer")), 1},
		{"inspect not_found", testutil.ToFloat64(m.dockerErrors.WithLabelValues("InspectContainer", "not_found")), 1},
		{"start timeout error", testutil.ToFloat64(m.dockerErrors.WithLabelValues("StartContainer", "timeout")), 1},
		{"start timeouts", testutil.ToFloat64(m.dockerTimeouts.WithLabelValues("StartContainer")), 1},
		{"create timeouts", testutil.ToFloat64(m.dockerTimeouts.WithLabelValues("CreateContainer")), 0},
		{"pulls ok", testutil.ToFloat64(m.pulls.WithLabelValues("success")), 1},
		{"pulls in flight", testutil.ToFloat64(m.pullsInFlight), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	failed := 0.0
	for _, k := range []string{"not_found", "unauthorized", "other", "registry_unavailable"} {
		failed += testutil.ToFloat64(m.pulls.WithLabelValues(k))
	}
	if failed != 1 {
		t.Errorf("failed pulls = %v, want 1", failed)
	}
	if n := testutil.CollectAndCount(m.dockerDuration); n < 4 {
		t.Errorf("%d duration series, want one per timed operation", n)
	}
}

func TestPullsInFlight(t *testing.T) {
	m := New("test")
	f := fake.New()
	if err := f.AllowPull("example.com/app:v1", nil); err != nil {
		t.Fatal(err)
	}
	f.SetDelay("PullImage", time.Hour)
	eng := m.WrapEngine(f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- eng.PullImage(ctx, "example.com/app:v1", engine.PullOptions{}) }()
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(m.pullsInFlight) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("pull never in flight")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if got := testutil.ToFloat64(m.pullsInFlight); got != 0 {
		t.Fatalf("in flight after the pull ended: %v", got)
	}
}

func TestInterceptors(t *testing.T) {
	m := New("test")
	unary := m.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: runtimeapi.RuntimeService_ListContainers_FullMethodName}
	ok := func(context.Context, any) (any, error) { return "resp", nil }
	bad := func(context.Context, any) (any, error) { return nil, status.Error(codes.NotFound, "gone") }
	for range 3 {
		if r, err := unary(context.Background(), nil, info, ok); r != "resp" || err != nil {
			t.Fatalf("interceptor changed the result: %v %v", r, err)
		}
	}
	if _, err := unary(context.Background(), nil, info, bad); status.Code(err) != codes.NotFound {
		t.Fatalf("interceptor changed the error: %v", err)
	}
	if got := testutil.ToFloat64(m.rpcs.WithLabelValues("ListContainers", "OK")); got != 3 {
		t.Errorf("OK count %v, want 3", got)
	}
	if got := testutil.ToFloat64(m.rpcs.WithLabelValues("ListContainers", "NotFound")); got != 1 {
		t.Errorf("NotFound count %v, want 1", got)
	}
	stream := m.StreamServerInterceptor()
	sinfo := &grpc.StreamServerInfo{FullMethod: runtimeapi.RuntimeService_GetContainerEvents_FullMethodName}
	_ = stream(nil, nil, sinfo, func(any, grpc.ServerStream) error { return status.Error(codes.Canceled, "bye") })
	if got := testutil.ToFloat64(m.rpcs.WithLabelValues("GetContainerEvents", "Canceled")); got != 1 {
		t.Errorf("stream count %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.rpcInFlight.WithLabelValues("ListContainers")); got != 0 {
		t.Errorf("in flight %v after calls ended", got)
	}
}

func TestCacheReports(t *testing.T) {
	m := New("test")
	f := fake.New()
	c, err := cache.New(context.Background(), m.WrapEngine(f), cache.Options{Metrics: m, ResyncPeriod: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(m.cacheResyncs.WithLabelValues("periodic", "ok")) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no periodic resyncs counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := testutil.ToFloat64(m.cacheResyncs.WithLabelValues("start", "ok")); got != 1 {
		t.Errorf("start resyncs %v, want 1", got)
	}
	// Cached reads do not reach Docker.
	before := testutil.ToFloat64(m.dockerOps.WithLabelValues("ListContainers"))
	f.SetDelay("ListContainers", 0)
	for range 10 {
		if _, err := c.ListContainers(context.Background(), engine.ListOptions{Labels: []string{naming.ManagedLabelFilter}}); err != nil {
			t.Fatal(err)
		}
	}
	if d := testutil.ToFloat64(m.dockerOps.WithLabelValues("ListContainers")) - before; d > 2 {
		t.Errorf("%v Docker lists for 10 cached lists (only resyncs may list)", d)
	}
}

func TestServe(t *testing.T) {
	m := New("test")
	m.EventStreamReconnect()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, "127.0.0.1:0", netlimit.HTTP{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "dockerlet_cache_event_stream_reconnects_total 1") {
		t.Fatalf("GET /metrics: %d\n%.500s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), "go_goroutines") {
		t.Error("runtime metrics missing")
	}
	for _, path := range []string{"/", "/debug/pprof/", "/metrics/x"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if _, err := m.Serve(ctx, addr, netlimit.HTTP{}, nil); err == nil {
		t.Error("second bind of the same address succeeded")
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := http.Get("http://" + addr + "/metrics"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still up after ctx ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
