package cri

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/moby/moby/api/types/image"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/fake"
	imgpkg "github.com/dockerlet/dockerlet/internal/image"
)

const testImage = "docker.io/library/busybox:latest"

type harness struct {
	t    *testing.T
	svc  *Service
	fake *fake.Fake
	root string
	ctx  context.Context
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
	svc, err := New(Config{
		Engine: h.fake, RootDir: h.root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Puller: imgpkg.NewPuller(h.fake, nil),
	})
	if err != nil {
		h.t.Fatal(err)
	}
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
