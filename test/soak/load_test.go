package soak

import (
	"context"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// poll is one second of a kubelet: relist, the status of every pod and
// container it knows, and the stats.
func (s *soak) poll() {
	start := time.Now()
	var sandboxes []string
	var ctrs []string
	_ = s.call("ListPodSandbox", false, func(ctx context.Context) error {
		r, err := s.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		for _, sb := range r.GetItems() {
			sandboxes = append(sandboxes, sb.Id)
		}
		return err
	})
	_ = s.call("ListContainers", false, func(ctx context.Context) error {
		r, err := s.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
		for _, c := range r.GetContainers() {
			ctrs = append(ctrs, c.Id)
		}
		return err
	})
	// A pod the churn removed since the relist is NotFound: expected.
	for _, id := range sandboxes {
		_ = s.call("PodSandboxStatus", true, func(ctx context.Context) error {
			_, err := s.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
			return err
		})
	}
	for _, id := range ctrs {
		_ = s.call("ContainerStatus", true, func(ctx context.Context) error {
			_, err := s.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
			return err
		})
	}
	_ = s.call("ListContainerStats", false, func(ctx context.Context) error {
		_, err := s.rt.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
		return err
	})
	_ = s.call("ListPodSandboxStats", false, func(ctx context.Context) error {
		_, err := s.rt.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{})
		return err
	})
	s.tally.mu.Lock()
	s.tally.polls = append(s.tally.polls, time.Since(start))
	s.tally.mu.Unlock()
}

// replaceOldest is one step of the churn: the oldest pod goes, a new one
// is run.
func (s *soak) replaceOldest() {
	s.mu.Lock()
	old := s.pods[0]
	s.pods = s.pods[1:]
	s.mu.Unlock()
	s.removePod(old)
	p, err := s.runPod()
	if p != nil {
		s.mu.Lock()
		s.pods = append(s.pods, p)
		s.mu.Unlock()
	}
	if err != nil {
		s.t.Errorf("churn: %v", err)
	}
	s.tally.mu.Lock()
	s.tally.churned++
	s.tally.mu.Unlock()
}

// phase runs the kubelet's second (a poll every second) and, with churn,
// a pod replaced every churnEvery, for d or until the test's context
// ends.
func (s *soak) phase(d, churnEvery time.Duration, churn bool) {
	stop := make(chan struct{})
	var loops sync.WaitGroup
	every := func(period time.Duration, step func()) {
		loops.Add(1)
		go func() {
			defer loops.Done()
			tick := time.NewTicker(period)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					step()
				}
			}
		}()
	}
	every(time.Second, s.poll)
	if churn {
		every(churnEvery, s.replaceOldest)
	}
	select {
	case <-time.After(d):
	case <-s.ctx.Done():
	}
	close(stop)
	loops.Wait()
}
