package pod

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeRuntime is an in-memory CRI for the supervisor's unit tests.
type fakeRuntime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	mu         sync.Mutex
	clock      *fakeClock
	seq        int
	sandboxes  map[string]*runtimeapi.PodSandboxStatus
	sbConfigs  map[string]*runtimeapi.PodSandboxConfig
	containers map[string]*runtimeapi.ContainerStatus
	configs    map[string]*runtimeapi.ContainerConfig
	sandboxOf  map[string]string
	images     map[string]bool
	pulls      []*runtimeapi.PullImageRequest
	calls      []string
	// exitOnStart makes a container exit with the code right after start.
	exitOnStart map[string]int32
	pullErr     error
}

func newFakeRuntime(clock *fakeClock) *fakeRuntime {
	return &fakeRuntime{
		clock: clock, sandboxes: map[string]*runtimeapi.PodSandboxStatus{}, sbConfigs: map[string]*runtimeapi.PodSandboxConfig{},
		containers: map[string]*runtimeapi.ContainerStatus{}, configs: map[string]*runtimeapi.ContainerConfig{},
		sandboxOf: map[string]string{}, images: map[string]bool{}, exitOnStart: map[string]int32{},
	}
}

func (f *fakeRuntime) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeRuntime) now() int64 { return f.clock.Now().UnixNano() }

func (f *fakeRuntime) RunPodSandbox(_ context.Context, r *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := fmt.Sprintf("sb%d", f.seq)
	f.sandboxes[id] = &runtimeapi.PodSandboxStatus{Id: id, Metadata: r.Config.Metadata, State: runtimeapi.PodSandboxState_SANDBOX_READY,
		CreatedAt: f.now(), Network: &runtimeapi.PodSandboxNetworkStatus{Ip: "10.0.0.2"}, Labels: r.Config.Labels}
	f.sbConfigs[id] = r.Config
	f.record("RunPodSandbox %s", r.Config.Metadata.Name)
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: id}, nil
}

func (f *fakeRuntime) PodSandboxStatus(_ context.Context, r *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sandboxes[r.PodSandboxId]
	if !ok {
		return nil, fmt.Errorf("sandbox %s not found", r.PodSandboxId)
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: s}, nil
}

func (f *fakeRuntime) ListPodSandbox(_ context.Context, r *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.PodSandbox
	for _, s := range f.sandboxes {
		if r.Filter != nil && !labelsMatch(s.Labels, r.Filter.LabelSelector) {
			continue
		}
		out = append(out, &runtimeapi.PodSandbox{Id: s.Id, Metadata: s.Metadata, State: s.State, CreatedAt: s.CreatedAt, Labels: s.Labels})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return &runtimeapi.ListPodSandboxResponse{Items: out}, nil
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func (f *fakeRuntime) StopPodSandbox(_ context.Context, r *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.sandboxes[r.PodSandboxId]; ok {
		s.State = runtimeapi.PodSandboxState_SANDBOX_NOTREADY
		for id, sb := range f.sandboxOf {
			if sb == r.PodSandboxId {
				f.exitLocked(id, 137)
			}
		}
	}
	f.record("StopPodSandbox %s", r.PodSandboxId)
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

func (f *fakeRuntime) RemovePodSandbox(_ context.Context, r *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sandboxes, r.PodSandboxId)
	for id, sb := range f.sandboxOf {
		if sb == r.PodSandboxId {
			delete(f.containers, id)
			delete(f.sandboxOf, id)
		}
	}
	f.record("RemovePodSandbox %s", r.PodSandboxId)
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}

func (f *fakeRuntime) CreateContainer(_ context.Context, r *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := fmt.Sprintf("c%d-%s-%d", f.seq, r.Config.Metadata.Name, r.Config.Metadata.Attempt)
	f.containers[id] = &runtimeapi.ContainerStatus{Id: id, Metadata: r.Config.Metadata, State: runtimeapi.ContainerState_CONTAINER_CREATED, CreatedAt: f.now()}
	f.configs[id] = r.Config
	f.sandboxOf[id] = r.PodSandboxId
	f.record("CreateContainer %s/%d", r.Config.Metadata.Name, r.Config.Metadata.Attempt)
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}

func (f *fakeRuntime) StartContainer(_ context.Context, r *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[r.ContainerId]
	if !ok {
		return nil, fmt.Errorf("container %s not found", r.ContainerId)
	}
	c.State = runtimeapi.ContainerState_CONTAINER_RUNNING
	c.StartedAt = f.now()
	f.record("StartContainer %s/%d", c.Metadata.Name, c.Metadata.Attempt)
	if code, ok := f.exitOnStart[c.Metadata.Name]; ok {
		f.exitLocked(r.ContainerId, code)
	}
	return &runtimeapi.StartContainerResponse{}, nil
}

// exit makes the latest running instance of container name exit.
func (f *fakeRuntime) exit(name string, code int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, c := range f.containers {
		if c.Metadata.Name == name && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			f.exitLocked(id, code)
		}
	}
}

func (f *fakeRuntime) exitLocked(id string, code int32) {
	c := f.containers[id]
	if c == nil || c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return
	}
	c.State = runtimeapi.ContainerState_CONTAINER_EXITED
	c.ExitCode = code
	c.FinishedAt = f.now()
}

func (f *fakeRuntime) StopContainer(_ context.Context, r *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exitLocked(r.ContainerId, 137)
	f.record("StopContainer %s timeout=%d", r.ContainerId, r.Timeout)
	return &runtimeapi.StopContainerResponse{}, nil
}

func (f *fakeRuntime) RemoveContainer(_ context.Context, r *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, r.ContainerId)
	delete(f.sandboxOf, r.ContainerId)
	f.record("RemoveContainer %s", r.ContainerId)
	return &runtimeapi.RemoveContainerResponse{}, nil
}

func (f *fakeRuntime) ListContainers(_ context.Context, r *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.Container
	for id, c := range f.containers {
		if r.Filter != nil && r.Filter.PodSandboxId != "" && f.sandboxOf[id] != r.Filter.PodSandboxId {
			continue
		}
		out = append(out, &runtimeapi.Container{Id: id, PodSandboxId: f.sandboxOf[id], Metadata: c.Metadata, State: c.State, CreatedAt: c.CreatedAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return &runtimeapi.ListContainersResponse{Containers: out}, nil
}

func (f *fakeRuntime) ContainerStatus(_ context.Context, r *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[r.ContainerId]
	if !ok {
		return nil, fmt.Errorf("container %s not found", r.ContainerId)
	}
	return &runtimeapi.ContainerStatusResponse{Status: proto.Clone(c).(*runtimeapi.ContainerStatus)}, nil
}

func (f *fakeRuntime) ImageStatus(_ context.Context, r *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.images[r.Image.Image] {
		return &runtimeapi.ImageStatusResponse{Image: &runtimeapi.Image{Id: "sha256:" + r.Image.Image}}, nil
	}
	return &runtimeapi.ImageStatusResponse{}, nil
}

func (f *fakeRuntime) PullImage(_ context.Context, r *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls = append(f.pulls, r)
	f.record("PullImage %s", r.Image.Image)
	if f.pullErr != nil {
		return nil, f.pullErr
	}
	f.images[r.Image.Image] = true
	return &runtimeapi.PullImageResponse{ImageRef: "sha256:" + r.Image.Image}, nil
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
