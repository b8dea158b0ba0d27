package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// pullThrough pulls every reference through a runtime's CRI image service.
// A runtime keeps the images it pulled before and the kubelet pulls a
// tagged image only when it is missing, so without this a rebuilt stand-in
// would be run stale; it also stands in for the suite's own pre-pull
// (off: its list names images no spec here uses).
func pullThrough(ctx context.Context, endpoint string, refs []listed) error {
	conn, err := dialCRI(endpoint)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := runtimeapi.NewImageServiceClient(conn)
	for _, r := range refs {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		resp, err := c.PullImage(pctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: r.ref}})
		cancel()
		if err != nil {
			return fmt.Errorf("pull %s through %s: %w", r.ref, endpoint, err)
		}
		fmt.Printf("%-18s %s pulled as %s\n", r.key, r.ref, resp.GetImageRef())
	}
	return nil
}

// sweepPods stops and removes every pod sandbox a runtime lists: the
// teardown of a runtime that keeps its pods in the shared dockerd, where
// only the runtime itself knows which containers are its own.
func sweepPods(ctx context.Context, endpoint string) error {
	conn, err := dialCRI(endpoint)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := runtimeapi.NewRuntimeServiceClient(conn)
	resp, err := c.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pods through %s: %w", endpoint, err)
	}
	for _, p := range resp.GetItems() {
		if _, err := c.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			return fmt.Errorf("stop pod %s: %w", p.GetId(), err)
		}
		if _, err := c.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			return fmt.Errorf("remove pod %s: %w", p.GetId(), err)
		}
	}
	fmt.Printf("%d pods removed through %s\n", len(resp.GetItems()), endpoint)
	return nil
}

func sweepWithin(endpoint string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return sweepPods(ctx, endpoint)
}

// dialCRI connects to a runtime's CRI socket (plain gRPC over a unix socket).
func dialCRI(endpoint string) (*grpc.ClientConn, error) {
	return grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
}
