package cache_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/moby/moby/api/types/image"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/node"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// criNode runs pods (sandbox + one running container each) through the CRI
// service over the fake engine, wired as serve wires it.
func criNode(b *testing.B, pods int) (*cri.Service, string, string) {
	b.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{cri.DefaultPodInfraImage}})
	f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	n, err := node.New(ctx, node.Options{Engine: f, RootDir: b.TempDir(), Logger: logger, Stats: nullStats{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(n.Close)
	svc := n.Service
	var sb, ctr string
	for i := range pods {
		cfg := &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: fmt.Sprintf("pod-%03d", i), Namespace: "default", Uid: fmt.Sprintf("dltcache-uid-%03d", i)},
			Linux:    &runtimeapi.LinuxPodSandboxConfig{},
		}
		sb, ctr = testutil.RunPod(ctx, b, svc, cfg, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Image:    &runtimeapi.ImageSpec{Image: "busybox"},
			Command:  []string{"sleep", "3600"},
		})
	}
	return svc, sb, ctr
}

// BenchmarkCRI measures the kubelet's polling RPCs at 110 and 250 pods,
// handler included (no gRPC transport): a figure that grows with the pod
// count where it should not (a status) shows as the ratio of the two.
func BenchmarkCRI(b *testing.B) {
	ctx := context.Background()
	for _, pods := range []int{110, 250} {
		svc, sb, ctr := criNode(b, pods)
		prefix := fmt.Sprintf("pods=%d/", pods)
		b.Run(prefix+"ListPodSandbox", func(b *testing.B) {
			cache.MeasureCPU(b, false, func() {
				for b.Loop() {
					r, err := svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
					if err != nil || len(r.Items) != pods {
						b.Fatal(len(r.GetItems()), err)
					}
				}
			})
		})
		b.Run(prefix+"ListContainers", func(b *testing.B) {
			cache.MeasureCPU(b, false, func() {
				for b.Loop() {
					r, err := svc.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
					if err != nil || len(r.Containers) != pods {
						b.Fatal(len(r.GetContainers()), err)
					}
				}
			})
		})
		b.Run(prefix+"PodSandboxStatus", func(b *testing.B) {
			cache.MeasureCPU(b, false, func() {
				for b.Loop() {
					r, err := svc.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
					if err != nil || len(r.ContainersStatuses) != 1 {
						b.Fatal(len(r.GetContainersStatuses()), err)
					}
				}
			})
		})
		b.Run(prefix+"ContainerStatus", func(b *testing.B) {
			cache.MeasureCPU(b, false, func() {
				for b.Loop() {
					if _, err := svc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
