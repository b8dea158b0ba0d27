package cri

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// InProcess is the Service behind the gate (see gate), for callers in the
// same process (dockerlet play and its supervisor): each request is
// admitted (validated), a panic becomes Internal, errors become gRPC
// status errors, and calls are logged with a request id — exactly as for a
// socket's requests. Play's requests are built from manifests a user
// wrote: they get no more trust.
//
// Every RPC of both services has its wrapper, named by gRPC's generated
// method constant (TestInProcessGatesEveryRPC); an RPC added to the CRI
// and not wrapped here answers Unimplemented, never ungated.
type InProcess struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer
	svc *Service
	g   *gate
}

// InProcess returns the gated Service.
func (s *Service) InProcess(logger *slog.Logger) *InProcess {
	if logger == nil {
		logger = s.cfg.Logger
	}
	return &InProcess{svc: s, g: &gate{log: logger}}
}

// gated runs a unary handler through the gate.
func gated[Req, Resp any](p *InProcess, ctx context.Context, method string, req Req, h func(context.Context, Req) (Resp, error)) (Resp, error) {
	var zero Resp
	resp, err := p.g.call(ctx, method, func(ctx context.Context) (any, error) {
		if err := p.g.admit(ctx, req); err != nil {
			return nil, err
		}
		return h(ctx, req)
	})
	if err != nil {
		return zero, err
	}
	out, _ := resp.(Resp)
	return out, nil
}

// gatedStream runs a server-streaming handler through the gate.
func gatedStream[Req, Resp any](p *InProcess, method string, req Req, stream grpc.ServerStreamingServer[Resp], h func(Req, grpc.ServerStreamingServer[Resp]) error) error {
	_, err := p.g.call(stream.Context(), method, func(ctx context.Context) (any, error) {
		if err := p.g.admit(ctx, req); err != nil {
			return nil, err
		}
		return nil, h(req, ctxServerStream[Resp]{ServerStreamingServer: stream, ctx: ctx})
	})
	return err
}

// ctxServerStream hands the handler the gate's ctx (its logger).
type ctxServerStream[T any] struct {
	grpc.ServerStreamingServer[T]
	ctx context.Context
}

func (s ctxServerStream[T]) Context() context.Context { return s.ctx }

func (p *InProcess) Version(ctx context.Context, req *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_Version_FullMethodName, req, p.svc.Version)
}

func (p *InProcess) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_RunPodSandbox_FullMethodName, req, p.svc.RunPodSandbox)
}

func (p *InProcess) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_StopPodSandbox_FullMethodName, req, p.svc.StopPodSandbox)
}

func (p *InProcess) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_RemovePodSandbox_FullMethodName, req, p.svc.RemovePodSandbox)
}

func (p *InProcess) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_PodSandboxStatus_FullMethodName, req, p.svc.PodSandboxStatus)
}

func (p *InProcess) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ListPodSandbox_FullMethodName, req, p.svc.ListPodSandbox)
}

func (p *InProcess) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_CreateContainer_FullMethodName, req, p.svc.CreateContainer)
}

func (p *InProcess) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_StartContainer_FullMethodName, req, p.svc.StartContainer)
}

func (p *InProcess) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_StopContainer_FullMethodName, req, p.svc.StopContainer)
}

func (p *InProcess) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_RemoveContainer_FullMethodName, req, p.svc.RemoveContainer)
}

func (p *InProcess) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ListContainers_FullMethodName, req, p.svc.ListContainers)
}

func (p *InProcess) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ContainerStatus_FullMethodName, req, p.svc.ContainerStatus)
}

func (p *InProcess) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_UpdateContainerResources_FullMethodName, req, p.svc.UpdateContainerResources)
}

func (p *InProcess) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ReopenContainerLog_FullMethodName, req, p.svc.ReopenContainerLog)
}

func (p *InProcess) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ExecSync_FullMethodName, req, p.svc.ExecSync)
}

func (p *InProcess) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_Exec_FullMethodName, req, p.svc.Exec)
}

func (p *InProcess) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_Attach_FullMethodName, req, p.svc.Attach)
}

func (p *InProcess) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_PortForward_FullMethodName, req, p.svc.PortForward)
}

func (p *InProcess) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ContainerStats_FullMethodName, req, p.svc.ContainerStats)
}

func (p *InProcess) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ListContainerStats_FullMethodName, req, p.svc.ListContainerStats)
}

func (p *InProcess) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_PodSandboxStats_FullMethodName, req, p.svc.PodSandboxStats)
}

func (p *InProcess) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ListPodSandboxStats_FullMethodName, req, p.svc.ListPodSandboxStats)
}

func (p *InProcess) UpdateRuntimeConfig(ctx context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_UpdateRuntimeConfig_FullMethodName, req, p.svc.UpdateRuntimeConfig)
}

func (p *InProcess) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_Status_FullMethodName, req, p.svc.Status)
}

func (p *InProcess) CheckpointContainer(ctx context.Context, req *runtimeapi.CheckpointContainerRequest) (*runtimeapi.CheckpointContainerResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_CheckpointContainer_FullMethodName, req, p.svc.CheckpointContainer)
}

func (p *InProcess) CheckpointPod(ctx context.Context, req *runtimeapi.CheckpointPodRequest) (*runtimeapi.CheckpointPodResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_CheckpointPod_FullMethodName, req, p.svc.CheckpointPod)
}

func (p *InProcess) RestorePod(ctx context.Context, req *runtimeapi.RestorePodRequest) (*runtimeapi.RestorePodResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_RestorePod_FullMethodName, req, p.svc.RestorePod)
}

func (p *InProcess) ListMetricDescriptors(ctx context.Context, req *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ListMetricDescriptors_FullMethodName, req, p.svc.ListMetricDescriptors)
}

func (p *InProcess) ListPodSandboxMetrics(ctx context.Context, req *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_ListPodSandboxMetrics_FullMethodName, req, p.svc.ListPodSandboxMetrics)
}

func (p *InProcess) RuntimeConfig(ctx context.Context, req *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_RuntimeConfig_FullMethodName, req, p.svc.RuntimeConfig)
}

func (p *InProcess) UpdatePodSandboxResources(ctx context.Context, req *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	return gated(p, ctx, runtimeapi.RuntimeService_UpdatePodSandboxResources_FullMethodName, req, p.svc.UpdatePodSandboxResources)
}

func (p *InProcess) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	return gated(p, ctx, runtimeapi.ImageService_ListImages_FullMethodName, req, p.svc.ListImages)
}

func (p *InProcess) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	return gated(p, ctx, runtimeapi.ImageService_ImageStatus_FullMethodName, req, p.svc.ImageStatus)
}

func (p *InProcess) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	return gated(p, ctx, runtimeapi.ImageService_PullImage_FullMethodName, req, p.svc.PullImage)
}

func (p *InProcess) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	return gated(p, ctx, runtimeapi.ImageService_RemoveImage_FullMethodName, req, p.svc.RemoveImage)
}

func (p *InProcess) ImageFsInfo(ctx context.Context, req *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	return gated(p, ctx, runtimeapi.ImageService_ImageFsInfo_FullMethodName, req, p.svc.ImageFsInfo)
}

func (p *InProcess) StreamPodSandboxes(req *runtimeapi.StreamPodSandboxesRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxesResponse]) error {
	return gatedStream(p, runtimeapi.RuntimeService_StreamPodSandboxes_FullMethodName, req, stream, p.svc.StreamPodSandboxes)
}

func (p *InProcess) StreamContainers(req *runtimeapi.StreamContainersRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamContainersResponse]) error {
	return gatedStream(p, runtimeapi.RuntimeService_StreamContainers_FullMethodName, req, stream, p.svc.StreamContainers)
}

func (p *InProcess) StreamContainerStats(req *runtimeapi.StreamContainerStatsRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamContainerStatsResponse]) error {
	return gatedStream(p, runtimeapi.RuntimeService_StreamContainerStats_FullMethodName, req, stream, p.svc.StreamContainerStats)
}

func (p *InProcess) StreamPodSandboxStats(req *runtimeapi.StreamPodSandboxStatsRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxStatsResponse]) error {
	return gatedStream(p, runtimeapi.RuntimeService_StreamPodSandboxStats_FullMethodName, req, stream, p.svc.StreamPodSandboxStats)
}

func (p *InProcess) GetContainerEvents(req *runtimeapi.GetEventsRequest, stream grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	return gatedStream(p, runtimeapi.RuntimeService_GetContainerEvents_FullMethodName, req, stream, p.svc.GetContainerEvents)
}

func (p *InProcess) StreamPodSandboxMetrics(req *runtimeapi.StreamPodSandboxMetricsRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxMetricsResponse]) error {
	return gatedStream(p, runtimeapi.RuntimeService_StreamPodSandboxMetrics_FullMethodName, req, stream, p.svc.StreamPodSandboxMetrics)
}

func (p *InProcess) StreamImages(req *runtimeapi.StreamImagesRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamImagesResponse]) error {
	return gatedStream(p, runtimeapi.ImageService_StreamImages_FullMethodName, req, stream, p.svc.StreamImages)
}

var (
	_ runtimeapi.RuntimeServiceServer = (*InProcess)(nil)
	_ runtimeapi.ImageServiceServer   = (*InProcess)(nil)
)
