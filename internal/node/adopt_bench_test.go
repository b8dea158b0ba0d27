package node_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/adopt/adopttest"
	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/node"
)

// BenchmarkRelist110 is the kubelet's relist (ListPodSandbox and
// ListContainers, no filter) of 110 pods, each a sandbox and a container:
// pods dockerlet made, and pods adopted from cri-dockerd, which the state
// cache holds with their adopted labels and answers the same way.
func BenchmarkRelist110(b *testing.B) {
	for _, adopted := range []bool{false, true} {
		b.Run(fmt.Sprintf("adopted=%v", adopted), func(b *testing.B) {
			ctx := context.Background()
			f := fake.New()
			f.AddImage(image.InspectResponse{RepoTags: []string{cri.DefaultPodInfraImage}})
			f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
			root := b.TempDir()
			if adopted {
				for i := range 110 {
					if _, err := adopttest.Make(ctx, f, root, kubeletPod(fmt.Sprintf("p%d", i))); err != nil {
						b.Fatal(err)
					}
				}
			}
			opts := node.Options{Engine: f, RootDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler), NetworkPlugin: &recordingNetwork{}}
			if adopted {
				opts.AdoptCRIDockerd = root
			}
			n, err := node.New(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			svc := n.Service
			if !adopted {
				for i := range 110 {
					p := kubeletPod(fmt.Sprintf("p%d", i))
					sbCfg := &runtimeapi.PodSandboxConfig{
						Metadata: &runtimeapi.PodSandboxMetadata{Name: p.Name, Namespace: p.Namespace, Uid: p.UID, Attempt: p.Attempt},
						Labels:   p.Labels, Annotations: p.Annotations,
					}
					sb, err := svc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
					if err != nil {
						b.Fatal(err)
					}
					c := p.Containers[0]
					ctr, err := svc.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
						PodSandboxId: sb.PodSandboxId, SandboxConfig: sbCfg,
						Config: &runtimeapi.ContainerConfig{
							Metadata: &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: c.Attempt},
							Image:    &runtimeapi.ImageSpec{Image: c.Image}, Command: c.Command,
							Labels: c.Labels, Annotations: c.Annotations,
						},
					})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := svc.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr.ContainerId}); err != nil {
						b.Fatal(err)
					}
				}
			}
			relist := func() {
				sbs, err := svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
				if err != nil || len(sbs.Items) != 110 {
					b.Fatal(len(sbs.GetItems()), err)
				}
				ctrs, err := svc.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
				if err != nil || len(ctrs.Containers) != 110 {
					b.Fatal(len(ctrs.GetContainers()), err)
				}
			}
			for !n.Engine.Synced() {
				relist()
			}
			// Let the events of the pods' making be applied: each
			// re-inspection makes a new snapshot, derived anew.
			time.Sleep(2 * time.Second)
			relist()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				relist()
			}
		})
	}
}
