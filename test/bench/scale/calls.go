package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/test/bench/result"
)

type callFn func(ctx context.Context, i int) error

type namedCall struct {
	name  string
	stats bool // sampled -stats-iters times instead of -iters
	fn    callFn
}

// calls are the kubelet's reads: the relist pair, the status of one pod
// and one container, the runtime's status, and the stats calls.
func (b *bench) calls() []namedCall {
	pick := func(i int) pod { return b.pods[i%len(b.pods)] }
	rt, img := b.rt, b.img
	return []namedCall{
		{"ListPodSandbox", false, func(c context.Context, _ int) error {
			_, err := rt.ListPodSandbox(c, &runtimeapi.ListPodSandboxRequest{})
			return err
		}},
		{"ListContainers", false, func(c context.Context, _ int) error {
			_, err := rt.ListContainers(c, &runtimeapi.ListContainersRequest{})
			return err
		}},
		{"PodSandboxStatus", false, func(c context.Context, i int) error {
			_, err := rt.PodSandboxStatus(c, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pick(i).sb})
			return err
		}},
		{"ContainerStatus", false, func(c context.Context, i int) error {
			_, err := rt.ContainerStatus(c, &runtimeapi.ContainerStatusRequest{ContainerId: pick(i).ctr})
			return err
		}},
		{"Status", false, func(c context.Context, _ int) error {
			_, err := rt.Status(c, &runtimeapi.StatusRequest{})
			return err
		}},
		{"ImageFsInfo", false, func(c context.Context, _ int) error {
			_, err := img.ImageFsInfo(c, &runtimeapi.ImageFsInfoRequest{})
			return err
		}},
		{"ContainerStats", true, func(c context.Context, i int) error {
			_, err := rt.ContainerStats(c, &runtimeapi.ContainerStatsRequest{ContainerId: pick(i).ctr})
			return err
		}},
		{"ListContainerStats", true, func(c context.Context, _ int) error {
			_, err := rt.ListContainerStats(c, &runtimeapi.ListContainerStatsRequest{})
			return err
		}},
		{"PodSandboxStats", true, func(c context.Context, i int) error {
			_, err := rt.PodSandboxStats(c, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: pick(i).sb})
			return err
		}},
		{"ListPodSandboxStats", true, func(c context.Context, _ int) error {
			_, err := rt.ListPodSandboxStats(c, &runtimeapi.ListPodSandboxStatsRequest{})
			return err
		}},
	}
}

// measureCalls samples each call one at a time, up to -iters (-stats-iters)
// times and at most -call-budget per call.
func (b *bench) measureCalls(ctx context.Context) (map[string]*result.Stats, error) {
	out := map[string]*result.Stats{}
	calls := append(b.calls(), b.undecodedCalls()...)
	if b.floor != nil {
		calls = append(calls, b.floor.calls(b)...)
	}
	for _, c := range calls {
		iters := b.cfg.iters
		if c.stats {
			iters = b.cfg.statsIters
		}
		st, err := b.sample(ctx, c.name, iters, c.fn)
		if err != nil {
			return out, err
		}
		out[c.name] = st
	}
	return out, nil
}

func (b *bench) sample(ctx context.Context, name string, iters int, fn callFn) (*result.Stats, error) {
	var lat []time.Duration
	errs := 0
	var lastErr error
	deadline := time.Now().Add(b.cfg.callBudget)
	for i := 0; i < iters && time.Now().Before(deadline); i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, cancel := context.WithTimeout(ctx, b.cfg.rpcTimeout)
		t := time.Now()
		err := fn(c, i)
		d := time.Since(t)
		cancel()
		if status.Code(err) == codes.Unimplemented {
			return &result.Stats{Unimpl: true}, nil
		}
		if err != nil {
			errs++
			lastErr = err
			continue
		}
		lat = append(lat, d)
	}
	if lastErr != nil {
		fmt.Fprintf(os.Stderr, "%s at N=%d: %d errors, last: %v\n", name, len(b.pods), errs, lastErr)
	}
	return result.Summarize(lat, errs), nil
}
