package pod

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type execRuntime struct {
	Runtime
	got *runtimeapi.ExecSyncRequest
}

func (r *execRuntime) ExecSync(_ context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	r.got = req
	if req.Cmd[0] == "false" {
		return &runtimeapi.ExecSyncResponse{ExitCode: 1, Stderr: []byte("nope")}, nil
	}
	return &runtimeapi.ExecSyncResponse{}, nil
}

func hostPort(t *testing.T, addr string) (string, int32) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, int32(n)
}

func TestNetHandlerProbes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("X-Probe") != "1" {
				w.WriteHeader(http.StatusBadRequest)
			}
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.Listener.Addr().String())

	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(gl)
	defer gs.Stop()
	_, gport := hostPort(t, gl.Addr().String())

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, closedPort := hostPort(t, closed.Addr().String())
	closed.Close()

	rt := &execRuntime{}
	h := NewHandler(rt)
	c := &corev1.Container{Name: "c", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: port}}}
	target := ProbeTarget{ContainerID: "cid", Container: c, Host: host}
	down := "down"
	hdr := []corev1.HTTPHeader{{Name: "X-Probe", Value: "1"}}
	for _, tt := range []struct {
		name  string
		probe corev1.ProbeHandler
		ok    bool
		msg   string
	}{
		{"http ok", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(port), HTTPHeaders: hdr}}, true, ""},
		{"http named port", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "ok", Port: intstr.FromString("web"), HTTPHeaders: hdr}}, true, ""},
		{"http redirect", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/redirect", Port: intstr.FromInt32(port), HTTPHeaders: hdr}}, true, ""},
		{"http 500", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/bad", Port: intstr.FromInt32(port)}}, false, "HTTP 500"},
		{"http unknown port name", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("nope")}}, false, `no container port named "nope"`},
		{"tcp open", corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}}, true, ""},
		{"tcp closed", corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(closedPort)}}, false, "refused"},
		{"grpc serving", corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: gport}}, true, ""},
		{"grpc not serving", corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: gport, Service: &down}}, false, "NOT_SERVING"},
		{"exec ok", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, true, ""},
		{"exec fails", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}, false, "exit code 1: nope"},
		{"no action", corev1.ProbeHandler{}, false, "no action"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, msg := h.Probe(context.Background(), target, &corev1.Probe{ProbeHandler: tt.probe}, 2*time.Second)
			if ok != tt.ok || !strings.Contains(msg, tt.msg) {
				t.Fatalf("Probe = %v %q, want %v %q", ok, msg, tt.ok, tt.msg)
			}
		})
	}
	if rt.got == nil || rt.got.ContainerId != "cid" || rt.got.Timeout != 2 {
		t.Errorf("ExecSync request: %v", rt.got)
	}
	err = h.Hook(context.Background(), target, &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/bad", Port: intstr.FromInt32(port)}}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("httpGet hook: %v", err)
	}
	if err := h.Hook(context.Background(), target, &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, time.Second); err != nil {
		t.Errorf("exec hook: %v", err)
	}
}
