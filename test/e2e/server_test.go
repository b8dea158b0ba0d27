// Package e2e drives dockerlet's CRI server over its real gRPC socket
// against the real dockerd.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/node"
	"github.com/dockerlet/dockerlet/internal/streaming"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// prefix names everything these tests create.
const prefix = "dltcri"

// server is one in-process dockerlet CRI server on a unix socket, wired
// as serve wires it (internal/node).
type server struct {
	socket string
	grpc   *grpc.Server
	node   *node.Node
	conn   *grpc.ClientConn
}

type env struct {
	t       *testing.T
	eng     *engine.Client
	root    string
	pause   string
	busybox string
	srv     *server
	rt      runtimeapi.RuntimeServiceClient
	img     runtimeapi.ImageServiceClient
	// net configures the pod network (default: Docker's bridge).
	net     network.Config
	sockDir string
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newEnv starts a registry with a busybox image and a pause stand-in, and
// a dockerlet server using them.
func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with the env adjusted by configure (if not nil)
// before the server starts.
func newEnvWith(t *testing.T, configure func(*env)) *env {
	t.Helper()
	testutil.RequireDocker(t)
	eng, err := engine.Connect(testutil.DockerHost(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	reg := testutil.StartRegistry(t)
	e := &env{t: t, eng: eng, root: t.TempDir()}
	e.busybox = reg.PushBusybox(t, prefix+"/busybox:e2e", testutil.ImageOptions{Marker: prefix + "-e2e"})
	// A pause stand-in that exits at once on SIGTERM.
	e.pause = reg.PushBusybox(t, prefix+"/pause:e2e", testutil.ImageOptions{
		Marker: prefix + "-pause",
		Cmd:    []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
	})
	t.Cleanup(func() {
		for _, ref := range []string{e.busybox, e.pause} {
			_, _ = eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
		}
	})
	if configure != nil {
		configure(e)
	}
	e.start()
	t.Cleanup(e.stop)
	t.Cleanup(e.removeAll)
	return e
}

func (e *env) start() {
	t := e.t
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	n, err := node.New(context.Background(), node.Options{
		Engine: e.eng, Logger: logger, PodInfraImage: e.pause, RootDir: filepath.Join(e.root, "state"),
		Network: e.net, Streaming: &streaming.Config{},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := n.Service
	svc.Reconcile(context.Background())
	// One socket dir for every (re)start, removed when the env ends: a
	// restarted server's must outlive the cleanups registered before it.
	if e.sockDir == "" {
		dir, err := os.MkdirTemp("", prefix+"-sock-")
		if err != nil {
			t.Fatal(err)
		}
		e.sockDir = dir
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	sock := filepath.Join(e.sockDir, "cri.sock")
	_ = os.Remove(sock)
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	gs := n.GRPCServer()
	go gs.Serve(lis)
	svc.Resume(context.Background())
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = &server{socket: sock, grpc: gs, node: n, conn: conn}
	e.rt = runtimeapi.NewRuntimeServiceClient(conn)
	e.img = runtimeapi.NewImageServiceClient(conn)
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.conn.Close()
		e.srv.grpc.Stop()
		e.srv.node.Close()
		e.srv = nil
	}
}

// restart stops the server and starts a new one over the same state, as a
// restarted dockerlet would.
func (e *env) restart() {
	e.stop()
	e.start()
}

// removeAll removes every sandbox the test made, through a fresh server.
func (e *env) removeAll() {
	if e.srv == nil {
		e.start()
	}
	ctx := context.Background()
	list, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{
		Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"test": prefix}},
	})
	if err != nil {
		e.t.Logf("cleanup: %v", err)
		return
	}
	for _, sb := range list.Items {
		if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			e.t.Logf("cleanup %s: %v", sb.Id, err)
		}
	}
}

func (e *env) sandboxConfig(name string) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: prefix + "-" + name, Namespace: prefix + "-ns", Uid: prefix + "-" + name + "-uid"},
		Hostname:     prefix + "-" + name,
		LogDirectory: filepath.Join(e.root, "logs", name),
		Labels:       map[string]string{"test": prefix, "pod": name},
		Annotations:  map[string]string{"a": "b=c"},
		DnsConfig:    &runtimeapi.DNSConfig{Servers: []string{"10.9.8.7"}, Searches: []string{prefix + ".example"}},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
	}
}
