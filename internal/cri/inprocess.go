package cri

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// InProcess is the Service behind the same gate as the gRPC server, for
// callers in the same process (dockerlet play and its supervisor): every
// request is validated (validateRequest), a panic becomes Internal, errors
// become gRPC status errors, and calls are logged with a request id —
// exactly what the interceptor does for a socket's requests. Play's
// requests are built from manifests a user wrote: they get no more trust.
//
// The server-streaming RPCs (Stream*, GetContainerEvents) are the
// embedded Service's, ungated; play does not call them.
type InProcess struct {
	*Service
	unary grpc.UnaryServerInterceptor
}

// InProcess returns the gated Service.
func (s *Service) InProcess(logger *slog.Logger) *InProcess {
	if logger == nil {
		logger = s.cfg.Logger
	}
	return &InProcess{Service: s, unary: unaryInterceptor(logger, nil)}
}

// gate runs h through the unary interceptor as gRPC would for method.
func gate[Req, Resp any](g *InProcess, ctx context.Context, method string, req Req, h func(context.Context, Req) (Resp, error)) (Resp, error) {
	var zero Resp
	resp, err := g.unary(ctx, req, &grpc.UnaryServerInfo{Server: g.Service, FullMethod: method},
		func(ctx context.Context, r any) (any, error) { return h(ctx, r.(Req)) })
	if err != nil {
		return zero, err
	}
	out, ok := resp.(Resp)
	if !ok {
		return zero, nil
	}
	return out, nil
}

func (g *InProcess) Version(ctx context.Context, req *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/Version", req, g.Service.Version)
}

func (g *InProcess) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/RunPodSandbox", req, g.Service.RunPodSandbox)
}

func (g *InProcess) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/StopPodSandbox", req, g.Service.StopPodSandbox)
}

func (g *InProcess) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/RemovePodSandbox", req, g.Service.RemovePodSandbox)
}

func (g *InProcess) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/PodSandboxStatus", req, g.Service.PodSandboxStatus)
}

func (g *InProcess) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ListPodSandbox", req, g.Service.ListPodSandbox)
}

func (g *InProcess) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/CreateContainer", req, g.Service.CreateContainer)
}

func (g *InProcess) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/StartContainer", req, g.Service.StartContainer)
}

func (g *InProcess) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/StopContainer", req, g.Service.StopContainer)
}

func (g *InProcess) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/RemoveContainer", req, g.Service.RemoveContainer)
}

func (g *InProcess) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ListContainers", req, g.Service.ListContainers)
}

func (g *InProcess) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ContainerStatus", req, g.Service.ContainerStatus)
}

func (g *InProcess) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/UpdateContainerResources", req, g.Service.UpdateContainerResources)
}

func (g *InProcess) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ReopenContainerLog", req, g.Service.ReopenContainerLog)
}

func (g *InProcess) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ExecSync", req, g.Service.ExecSync)
}

func (g *InProcess) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/Exec", req, g.Service.Exec)
}

func (g *InProcess) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/Attach", req, g.Service.Attach)
}

func (g *InProcess) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/PortForward", req, g.Service.PortForward)
}

func (g *InProcess) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ContainerStats", req, g.Service.ContainerStats)
}

func (g *InProcess) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ListContainerStats", req, g.Service.ListContainerStats)
}

func (g *InProcess) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/PodSandboxStats", req, g.Service.PodSandboxStats)
}

func (g *InProcess) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ListPodSandboxStats", req, g.Service.ListPodSandboxStats)
}

func (g *InProcess) UpdateRuntimeConfig(ctx context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/UpdateRuntimeConfig", req, g.Service.UpdateRuntimeConfig)
}

func (g *InProcess) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/Status", req, g.Service.Status)
}

func (g *InProcess) CheckpointContainer(ctx context.Context, req *runtimeapi.CheckpointContainerRequest) (*runtimeapi.CheckpointContainerResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/CheckpointContainer", req, g.Service.CheckpointContainer)
}

func (g *InProcess) CheckpointPod(ctx context.Context, req *runtimeapi.CheckpointPodRequest) (*runtimeapi.CheckpointPodResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/CheckpointPod", req, g.Service.CheckpointPod)
}

func (g *InProcess) RestorePod(ctx context.Context, req *runtimeapi.RestorePodRequest) (*runtimeapi.RestorePodResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/RestorePod", req, g.Service.RestorePod)
}

func (g *InProcess) ListMetricDescriptors(ctx context.Context, req *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ListMetricDescriptors", req, g.Service.ListMetricDescriptors)
}

func (g *InProcess) ListPodSandboxMetrics(ctx context.Context, req *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/ListPodSandboxMetrics", req, g.Service.ListPodSandboxMetrics)
}

func (g *InProcess) RuntimeConfig(ctx context.Context, req *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/RuntimeConfig", req, g.Service.RuntimeConfig)
}

func (g *InProcess) UpdatePodSandboxResources(ctx context.Context, req *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	return gate(g, ctx, "/runtime.v1.RuntimeService/UpdatePodSandboxResources", req, g.Service.UpdatePodSandboxResources)
}

func (g *InProcess) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	return gate(g, ctx, "/runtime.v1.ImageService/ListImages", req, g.Service.ListImages)
}

func (g *InProcess) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	return gate(g, ctx, "/runtime.v1.ImageService/ImageStatus", req, g.Service.ImageStatus)
}

func (g *InProcess) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	return gate(g, ctx, "/runtime.v1.ImageService/PullImage", req, g.Service.PullImage)
}

func (g *InProcess) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	return gate(g, ctx, "/runtime.v1.ImageService/RemoveImage", req, g.Service.RemoveImage)
}

func (g *InProcess) ImageFsInfo(ctx context.Context, req *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	return gate(g, ctx, "/runtime.v1.ImageService/ImageFsInfo", req, g.Service.ImageFsInfo)
}

var (
	_ runtimeapi.RuntimeServiceServer = (*InProcess)(nil)
	_ runtimeapi.ImageServiceServer   = (*InProcess)(nil)
)
