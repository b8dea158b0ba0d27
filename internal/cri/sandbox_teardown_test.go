package cri

import (
	"context"
	"errors"
	"sync"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/network"
)

// countingNet counts TearDown calls per sandbox; failNext makes the next
// one fail.
type countingNet struct {
	network.Plugin
	mu       sync.Mutex
	downs    map[string]int
	failNext bool
}

func (c *countingNet) TearDown(ctx context.Context, pod *network.Pod, netns string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.downs[pod.ID]++
	if c.failNext {
		c.failNext = false
		return errors.New("plugin failed")
	}
	return c.Plugin.TearDown(ctx, pod, netns)
}

func (c *countingNet) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.downs[id]
}

func newCountingNet(t *testing.T, h *harness) *countingNet {
	t.Helper()
	base, err := network.New(h.fake, network.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &countingNet{Plugin: base, downs: map[string]int{}}
}

// The kubelet stops a pod, then removes it (and may stop it again in
// between): its network is released once. Each release runs every CNI
// plugin's DEL, iptables included; the removal used to run them all again.
func TestPodNetworkReleasedOnce(t *testing.T) {
	h := newHarness(t)
	net := newCountingNet(t, h)
	h.wire(TestNode{Network: net})
	sb := h.runSandbox("once")
	for range 2 {
		if _, err := h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
			t.Fatal(err)
		}
	}
	// A restart between stop and removal keeps the record.
	h.wire(TestNode{Network: net})
	if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	if n := net.count(sb); n != 1 {
		t.Fatalf("network torn down %d times over stop, stop, restart, remove; want 1", n)
	}
}

// A removal without a stop, or after a stop whose teardown failed, still
// releases the network.
func TestPodNetworkReleasedByRemoval(t *testing.T) {
	h := newHarness(t)
	net := newCountingNet(t, h)
	h.wire(TestNode{Network: net})

	direct := h.runSandbox("direct")
	if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: direct}); err != nil {
		t.Fatal(err)
	}
	if n := net.count(direct); n != 1 {
		t.Fatalf("removal without a stop tore the network down %d times, want 1", n)
	}

	failed := h.runSandbox("failed")
	net.failNext = true
	if _, err := h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: failed}); err == nil {
		t.Fatal("StopPodSandbox succeeded although the network teardown failed")
	}
	if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: failed}); err != nil {
		t.Fatal(err)
	}
	if n := net.count(failed); n != 2 {
		t.Fatalf("after a failed teardown at stop, %d teardowns in all; want the removal's retry too (2)", n)
	}
}
