package soak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// soakPod is one pod of the run: its config and the ids it got.
type soakPod struct {
	n         int
	cfg       *runtimeapi.PodSandboxConfig
	sandbox   string
	container string
}

// soak is the run: the client, what it counts, and the pods alive in
// the order they were started (the churn replaces the oldest).
type soak struct {
	t       *testing.T
	ctx     context.Context
	rt      runtimeapi.RuntimeServiceClient
	busybox string
	logRoot string
	tally   *tally

	mu   sync.Mutex
	pods []*soakPod
	next int
}

// call makes one CRI call with the kubelet's deadline and counts its
// answer (NotFound is expected where notFoundOK).
func (s *soak) call(rpc string, notFoundOK bool, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Minute) // the kubelet's deadline
	defer cancel()
	err := fn(ctx)
	s.tally.add(rpc, err, notFoundOK)
	return err
}

// runPod runs pod number n: a sandbox and one idle container.
func (s *soak) runPod() (*soakPod, error) {
	s.mu.Lock()
	n := s.next
	s.next++
	s.mu.Unlock()
	name := fmt.Sprintf("%s-p%d", prefix, n)
	p := &soakPod{n: n, cfg: &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: prefix, Uid: name + "-uid"},
		Hostname:     name,
		LogDirectory: filepath.Join(s.logRoot, name),
		Labels:       map[string]string{"soak": prefix},
	}}
	err := s.call("RunPodSandbox", false, func(ctx context.Context) error {
		r, err := s.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: p.cfg})
		if err == nil {
			p.sandbox = r.PodSandboxId
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	err = s.call("CreateContainer", false, func(ctx context.Context) error {
		r, err := s.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: p.sandbox, SandboxConfig: p.cfg, Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, Image: &runtimeapi.ImageSpec{Image: s.busybox},
			Command: []string{"sh", "-c", idleCmd}, LogPath: "app/0.log", Labels: map[string]string{"soak": prefix},
		}})
		if err == nil {
			p.container = r.ContainerId
		}
		return err
	})
	if err != nil {
		return p, err
	}
	err = s.call("StartContainer", false, func(ctx context.Context) error {
		_, err := s.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: p.container})
		return err
	})
	return p, err
}

// removePod takes a pod down as the kubelet does: stop the container with
// its grace period, remove it, stop and remove the sandbox.
func (s *soak) removePod(p *soakPod) {
	if p.container != "" {
		_ = s.call("StopContainer", false, func(ctx context.Context) error {
			_, err := s.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: p.container, Timeout: 10})
			return err
		})
		_ = s.call("RemoveContainer", false, func(ctx context.Context) error {
			_, err := s.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: p.container})
			return err
		})
	}
	_ = s.call("StopPodSandbox", false, func(ctx context.Context) error {
		_, err := s.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.sandbox})
		return err
	})
	_ = s.call("RemovePodSandbox", false, func(ctx context.Context) error {
		_, err := s.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.sandbox})
		return err
	})
	_ = os.RemoveAll(p.cfg.LogDirectory)
}

// startPods runs n pods, four at a time (as the kubelet's pod workers
// would), and keeps them in s.pods.
func (s *soak) startPods(n int) {
	t := s.t
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, err := s.runPod()
			if err != nil {
				t.Errorf("start pod: %v", err)
			}
			if p != nil {
				s.mu.Lock()
				s.pods = append(s.pods, p)
				s.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// removeAll takes every pod down, four at a time: one after the other,
// 110 removals took longer than the run on a busy host (~30 s each).
func (s *soak) removeAll() {
	s.mu.Lock()
	left := s.pods
	s.pods = nil
	s.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, p := range left {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.removePod(p)
		}()
	}
	wg.Wait()
}
