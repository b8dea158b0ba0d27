package main

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Every unary call is bounded on the server's side as the kubelet bounds
// it: a wait behind a hung daemon ends with the call.
func TestCallDeadline(t *testing.T) {
	const rt = 10 * time.Second
	for _, tc := range []struct {
		req   any
		want  time.Duration
		bound bool
	}{
		{&runtimeapi.ListContainersRequest{}, rt, true},
		{&runtimeapi.RunPodSandboxRequest{}, 2 * rt, true},
		{&runtimeapi.StopContainerRequest{Timeout: 30}, rt + 30*time.Second, true},
		{&runtimeapi.StopContainerRequest{Timeout: -1}, rt, true},
		{&runtimeapi.ExecSyncRequest{Timeout: 5}, rt + 5*time.Second, true},
		{&runtimeapi.ExecSyncRequest{}, 0, false},
		{&runtimeapi.PullImageRequest{}, 0, false},
		{&runtimeapi.CheckpointContainerRequest{Timeout: 2}, rt + 2*time.Second, true},
	} {
		d, ok := callBudget(tc.req, rt)
		if d != tc.want || ok != tc.bound {
			t.Errorf("%T: %v %v, want %v %v", tc.req, d, ok, tc.want, tc.bound)
		}
	}
	ic := callDeadline(rt)
	_, _ = ic(context.Background(), &runtimeapi.VersionRequest{}, &grpc.UnaryServerInfo{}, func(ctx context.Context, _ any) (any, error) {
		dl, ok := ctx.Deadline()
		if !ok || time.Until(dl) > rt || time.Until(dl) < rt-time.Second {
			t.Errorf("handler deadline %v (set %v), want about %v", time.Until(dl), ok, rt)
		}
		return nil, nil
	})
}
