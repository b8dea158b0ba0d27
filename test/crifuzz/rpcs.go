package crifuzz

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// rpc is one CRI method: a valid request for the fuzzer's current state,
// and how to call it.
type rpc struct {
	name  string
	valid func(f *Fuzzer) proto.Message
	call  func(ctx context.Context, f *Fuzzer, req proto.Message) (proto.Message, error)
}

func unary[Req proto.Message, Resp proto.Message](fn func(context.Context, Req, ...grpc.CallOption) (Resp, error)) func(context.Context, *Fuzzer, proto.Message) (proto.Message, error) {
	return func(ctx context.Context, _ *Fuzzer, req proto.Message) (proto.Message, error) {
		resp, err := fn(ctx, req.(Req), CallOption())
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
}

// stream drains a server stream to its end.
func stream[Req proto.Message, Resp any](fn func(context.Context, Req, ...grpc.CallOption) (grpc.ServerStreamingClient[Resp], error)) func(context.Context, *Fuzzer, proto.Message) (proto.Message, error) {
	return func(ctx context.Context, _ *Fuzzer, req proto.Message) (proto.Message, error) {
		s, err := fn(ctx, req.(Req), CallOption())
		if err != nil {
			return nil, err
		}
		for {
			if _, err := s.Recv(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil, nil
				}
				return nil, err
			}
		}
	}
}

// rpcs lists every RuntimeService and ImageService method.
func (f *Fuzzer) rpcs() []rpc {
	rt, img := f.target.Runtime, f.target.Image
	return []rpc{
		{"Version", func(*Fuzzer) proto.Message { return &runtimeapi.VersionRequest{Version: "v1"} }, unary(rt.Version)},
		{"RunPodSandbox", func(f *Fuzzer) proto.Message {
			return &runtimeapi.RunPodSandboxRequest{Config: f.sandboxConfig()}
		}, unary(rt.RunPodSandbox)},
		{"StopPodSandbox", func(f *Fuzzer) proto.Message {
			return &runtimeapi.StopPodSandboxRequest{PodSandboxId: f.sandboxRef()}
		}, unary(rt.StopPodSandbox)},
		{"RemovePodSandbox", func(f *Fuzzer) proto.Message {
			return &runtimeapi.RemovePodSandboxRequest{PodSandboxId: f.sandboxRef()}
		}, unary(rt.RemovePodSandbox)},
		{"PodSandboxStatus", func(f *Fuzzer) proto.Message {
			return &runtimeapi.PodSandboxStatusRequest{PodSandboxId: f.sandboxRef(), Verbose: f.rnd.Intn(2) == 0}
		}, unary(rt.PodSandboxStatus)},
		{"ListPodSandbox", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"fuzz": f.cfg.Prefix}}}
		}, unary(rt.ListPodSandbox)},
		{"StreamPodSandboxes", func(f *Fuzzer) proto.Message {
			return &runtimeapi.StreamPodSandboxesRequest{Filter: &runtimeapi.PodSandboxFilter{Id: f.sandboxRef()}}
		}, stream(rt.StreamPodSandboxes)},
		{"CreateContainer", func(f *Fuzzer) proto.Message {
			return &runtimeapi.CreateContainerRequest{PodSandboxId: f.sandboxRef(), Config: f.containerConfig(), SandboxConfig: f.sandboxConfig()}
		}, unary(rt.CreateContainer)},
		{"StartContainer", func(f *Fuzzer) proto.Message {
			return &runtimeapi.StartContainerRequest{ContainerId: f.containerRef()}
		}, unary(rt.StartContainer)},
		{"StopContainer", func(f *Fuzzer) proto.Message {
			return &runtimeapi.StopContainerRequest{ContainerId: f.containerRef(), Timeout: int64(f.rnd.Intn(3))}
		}, unary(rt.StopContainer)},
		{"RemoveContainer", func(f *Fuzzer) proto.Message {
			return &runtimeapi.RemoveContainerRequest{ContainerId: f.containerRef()}
		}, unary(rt.RemoveContainer)},
		{"ListContainers", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: f.sandboxRef()}}
		}, unary(rt.ListContainers)},
		{"StreamContainers", func(f *Fuzzer) proto.Message {
			return &runtimeapi.StreamContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: f.containerRef()}}
		}, stream(rt.StreamContainers)},
		{"ContainerStatus", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ContainerStatusRequest{ContainerId: f.containerRef(), Verbose: f.rnd.Intn(2) == 0}
		}, unary(rt.ContainerStatus)},
		{"UpdateContainerResources", func(f *Fuzzer) proto.Message {
			return &runtimeapi.UpdateContainerResourcesRequest{ContainerId: f.containerRef(), Linux: &runtimeapi.LinuxContainerResources{CpuShares: 512, MemoryLimitInBytes: 64 << 20}}
		}, unary(rt.UpdateContainerResources)},
		{"ReopenContainerLog", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ReopenContainerLogRequest{ContainerId: f.containerRef()}
		}, unary(rt.ReopenContainerLog)},
		{"ExecSync", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ExecSyncRequest{ContainerId: f.containerRef(), Cmd: []string{"echo", "fuzz"}, Timeout: 3}
		}, unary(rt.ExecSync)},
		{"Exec", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ExecRequest{ContainerId: f.containerRef(), Cmd: []string{"sh"}, Stdout: true, Stderr: true}
		}, unary(rt.Exec)},
		{"Attach", func(f *Fuzzer) proto.Message {
			return &runtimeapi.AttachRequest{ContainerId: f.containerRef(), Stdout: true}
		}, unary(rt.Attach)},
		{"PortForward", func(f *Fuzzer) proto.Message {
			return &runtimeapi.PortForwardRequest{PodSandboxId: f.sandboxRef(), Port: []int32{8080}}
		}, unary(rt.PortForward)},
		{"ContainerStats", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ContainerStatsRequest{ContainerId: f.containerRef()}
		}, unary(rt.ContainerStats)},
		{"ListContainerStats", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ListContainerStatsRequest{Filter: &runtimeapi.ContainerStatsFilter{PodSandboxId: f.sandboxRef()}}
		}, unary(rt.ListContainerStats)},
		{"StreamContainerStats", func(f *Fuzzer) proto.Message {
			return &runtimeapi.StreamContainerStatsRequest{Filter: &runtimeapi.ContainerStatsFilter{Id: f.containerRef()}}
		}, stream(rt.StreamContainerStats)},
		{"PodSandboxStats", func(f *Fuzzer) proto.Message {
			return &runtimeapi.PodSandboxStatsRequest{PodSandboxId: f.sandboxRef()}
		}, unary(rt.PodSandboxStats)},
		{"ListPodSandboxStats", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ListPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{Id: f.sandboxRef()}}
		}, unary(rt.ListPodSandboxStats)},
		{"StreamPodSandboxStats", func(f *Fuzzer) proto.Message {
			return &runtimeapi.StreamPodSandboxStatsRequest{}
		}, stream(rt.StreamPodSandboxStats)},
		{"UpdateRuntimeConfig", func(f *Fuzzer) proto.Message {
			return &runtimeapi.UpdateRuntimeConfigRequest{RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: "10.88.0.0/16"}}}
		}, unary(rt.UpdateRuntimeConfig)},
		{"Status", func(f *Fuzzer) proto.Message { return &runtimeapi.StatusRequest{Verbose: f.rnd.Intn(2) == 0} }, unary(rt.Status)},
		{"CheckpointContainer", func(f *Fuzzer) proto.Message {
			return &runtimeapi.CheckpointContainerRequest{ContainerId: f.containerRef(), Location: filepath.Join(f.cfg.WorkDir, "ckpt.tar")}
		}, unary(rt.CheckpointContainer)},
		{"CheckpointPod", func(f *Fuzzer) proto.Message {
			return &runtimeapi.CheckpointPodRequest{PodSandboxId: f.sandboxRef(), OutputPath: filepath.Join(f.cfg.WorkDir, "pod.tar")}
		}, unary(rt.CheckpointPod)},
		{"RestorePod", func(f *Fuzzer) proto.Message {
			return &runtimeapi.RestorePodRequest{CheckpointPath: filepath.Join(f.cfg.WorkDir, "pod.tar")}
		}, unary(rt.RestorePod)},
		{"GetContainerEvents", func(*Fuzzer) proto.Message { return &runtimeapi.GetEventsRequest{} }, events},
		{"ListMetricDescriptors", func(*Fuzzer) proto.Message { return &runtimeapi.ListMetricDescriptorsRequest{} }, unary(rt.ListMetricDescriptors)},
		{"ListPodSandboxMetrics", func(*Fuzzer) proto.Message { return &runtimeapi.ListPodSandboxMetricsRequest{} }, unary(rt.ListPodSandboxMetrics)},
		{"StreamPodSandboxMetrics", func(*Fuzzer) proto.Message { return &runtimeapi.StreamPodSandboxMetricsRequest{} }, stream(rt.StreamPodSandboxMetrics)},
		{"RuntimeConfig", func(*Fuzzer) proto.Message { return &runtimeapi.RuntimeConfigRequest{} }, unary(rt.RuntimeConfig)},
		{"UpdatePodSandboxResources", func(f *Fuzzer) proto.Message {
			return &runtimeapi.UpdatePodSandboxResourcesRequest{PodSandboxId: f.sandboxRef(), Resources: &runtimeapi.LinuxContainerResources{CpuShares: 256}}
		}, unary(rt.UpdatePodSandboxResources)},

		{"ListImages", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ListImagesRequest{Filter: &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: f.imageRef()}}}
		}, unary(img.ListImages)},
		{"StreamImages", func(f *Fuzzer) proto.Message {
			return &runtimeapi.StreamImagesRequest{Filter: &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: f.imageRef()}}}
		}, stream(img.StreamImages)},
		{"ImageStatus", func(f *Fuzzer) proto.Message {
			return &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: f.imageRef()}, Verbose: f.rnd.Intn(2) == 0}
		}, unary(img.ImageStatus)},
		{"PullImage", func(f *Fuzzer) proto.Message {
			return &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: f.cfg.BusyboxImage}, SandboxConfig: f.sandboxConfig()}
		}, unary(img.PullImage)},
		{"RemoveImage", func(f *Fuzzer) proto.Message {
			// Only the fuzzer's own spare tag: the busybox and pause images
			// stay for the valid requests.
			return &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: f.cfg.SpareImage}}
		}, unary(img.RemoveImage)},
		{"ImageFsInfo", func(*Fuzzer) proto.Message { return &runtimeapi.ImageFsInfoRequest{} }, unary(img.ImageFsInfo)},
	}
}

// events opens the event stream and closes it again after a short while:
// the stream never ends by itself.
func events(ctx context.Context, f *Fuzzer, req proto.Message) (proto.Message, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := f.target.Runtime.GetContainerEvents(sctx, req.(*runtimeapi.GetEventsRequest), CallOption())
	if err != nil {
		return nil, err
	}
	got := make(chan error, 1)
	go func() { _, err := s.Recv(); got <- err }()
	select {
	case err := <-got:
		return nil, err
	case <-time.After(100 * time.Millisecond):
		return nil, nil
	}
}
