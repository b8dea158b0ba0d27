package cri

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/testutil"
)

// Every stats call names a container or pod by the same attributes, the
// user's labels and annotations and not dockerlet's own: the lists take
// them from the listed items, the single calls derive them afresh.
func TestStatsAttributesAgree(t *testing.T) {
	ctx := context.Background()
	n := newCachedNode(t, 0)
	sb, ctr := testutil.RunPod(ctx, t, n.svc, &runtimeapi.PodSandboxConfig{
		Metadata:    &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "ns", Uid: "uid-1", Attempt: 2},
		Labels:      map[string]string{"app": "web"},
		Annotations: map[string]string{"note": "pod"},
		Linux:       &runtimeapi.LinuxPodSandboxConfig{},
	}, &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: "app", Attempt: 1},
		Image:       &runtimeapi.ImageSpec{Image: "busybox"},
		Labels:      map[string]string{"tier": "a"},
		Annotations: map[string]string{"k": "v"},
	})
	wantC := &runtimeapi.ContainerAttributes{Id: ctr, Metadata: &runtimeapi.ContainerMetadata{Name: "app", Attempt: 1},
		Labels: map[string]string{"tier": "a"}, Annotations: map[string]string{"k": "v"}}
	wantP := &runtimeapi.PodSandboxAttributes{Id: sb, Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "ns", Uid: "uid-1", Attempt: 2},
		Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"note": "pod"}}
	check := func(what string, got, want proto.Message) {
		t.Helper()
		if !proto.Equal(got, want) {
			t.Errorf("%s: attributes %v, want %v", what, got, want)
		}
	}
	one, err := n.svc.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: ctr})
	if err != nil {
		t.Fatal(err)
	}
	check("ContainerStats", one.Stats.Attributes, wantC)
	list, err := n.svc.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil || len(list.Stats) != 1 {
		t.Fatalf("ListContainerStats: %v %v", list, err)
	}
	check("ListContainerStats", list.Stats[0].Attributes, wantC)
	pod, err := n.svc.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: sb})
	if err != nil {
		t.Fatal(err)
	}
	check("PodSandboxStats", pod.Stats.Attributes, wantP)
	pods, err := n.svc.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{})
	if err != nil || len(pods.Stats) != 1 {
		t.Fatalf("ListPodSandboxStats: %v %v", pods, err)
	}
	check("ListPodSandboxStats", pods.Stats[0].Attributes, wantP)
}
