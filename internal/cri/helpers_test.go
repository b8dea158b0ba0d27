package cri

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

const testImage = "docker.io/library/busybox:latest"

type harness struct {
	t     *testing.T
	svc   *Service
	fake  *fake.Fake
	cache *cache.Cache // the svc's, over fake
	root  string
	ctx   context.Context
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{DefaultPodInfraImage}})
	f.AddImage(image.InspectResponse{RepoTags: []string{testImage}})
	h := &harness{t: t, fake: f, root: t.TempDir(), ctx: context.Background()}
	h.svc = h.restart()
	return h
}

// restart builds a fresh Service over the same engine and root directory,
// as a restarted server would.
func (h *harness) restart() *Service {
	h.t.Helper()
	return h.node(TestNode{})
}

// node builds a Service as serve does (internal/node), over the fake and
// the harness's root unless o says otherwise; stats are stubStats'.
func (h *harness) node(o TestNode) *Service {
	h.t.Helper()
	if o.Engine == nil {
		o.Engine = h.fake
	}
	if o.RootDir == "" {
		o.RootDir = h.root
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Stats == nil {
		o.Stats = stubStats{}
	}
	svc, c, _ := NewTestNode(h.t, o)
	h.cache = c
	return svc
}

func sandboxConfig(name string) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "dltcri-ns", Uid: name + "-uid", Attempt: 1},
		Hostname:     name,
		LogDirectory: "",
		Labels:       map[string]string{"app": name, "tier": "test"},
		Annotations:  map[string]string{"note": "has=equals and spaces", "empty": ""},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
	}
}

func containerConfig(name string) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: name, Attempt: 2},
		Image:       &runtimeapi.ImageSpec{Image: "busybox"},
		Command:     []string{"sleep", "1000"},
		Labels:      map[string]string{"c": name},
		Annotations: map[string]string{"ca": "x"},
	}
}

func (h *harness) runSandbox(name string) string {
	h.t.Helper()
	resp, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig(name)})
	if err != nil {
		h.t.Fatalf("RunPodSandbox(%s): %v", name, err)
	}
	return resp.PodSandboxId
}

func (h *harness) createContainer(sb, name string) string {
	h.t.Helper()
	resp, err := h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: sb, Config: containerConfig(name), SandboxConfig: sandboxConfig("x"),
	})
	if err != nil {
		h.t.Fatalf("CreateContainer(%s): %v", name, err)
	}
	return resp.ContainerId
}

// code is the gRPC code the interceptor would send for err.
func code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	return status.Code(toStatus(err))
}

// rt is h.svc behind the gate, as every client reaches it: bad input is
// refused there, before a handler runs.
func (h *harness) rt() *InProcess { return h.svc.InProcess(slog.New(slog.DiscardHandler)) }

// exit makes container id exit with code behind the server's back, as a
// process ending does, and waits for the cache to learn of it.
func (h *harness) exit(id string, code int) {
	h.t.Helper()
	if err := h.fake.ExitContainer(id, code); err != nil {
		h.t.Fatal(err)
	}
	h.awaitStopped(id)
}

// oomKill is exit by the OOM killer.
func (h *harness) oomKill(id string) {
	h.t.Helper()
	if err := h.fake.OOMKill(id); err != nil {
		h.t.Fatal(err)
	}
	h.awaitStopped(id)
}

// awaitStopped waits until the cache, which learns of changes made behind
// its back from the engine's events (as serve's learns from Docker's),
// shows container id stopped.
func (h *harness) awaitStopped(id string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, err := h.cache.InspectContainer(h.ctx, id)
		if err == nil && in.State != nil && !in.State.Running {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the cache still shows %s running: %v", id, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// unsynced rebuilds h.svc over a cache that cannot sync (listing
// containers fails), which answers every read from the engine, as serve
// does while Docker restarts.
func (h *harness) unsynced() {
	h.t.Helper()
	h.fake.InjectPersistentError("ListContainers", fmt.Errorf("daemon restarting: %w", errdefs.ErrUnavailable))
	h.svc = h.restart()
	if h.cache.Synced() {
		h.t.Fatal("the cache synced without an event stream")
	}
}
