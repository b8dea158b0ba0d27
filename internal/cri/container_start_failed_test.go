package cri

import (
	"context"
	"io"
	"log/slog"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/cache"
)

// A container whose start failed is one Docker lists "created"; List must
// say exited, as Status does, with and without the cache in front.
func TestFailedStartListsExited(t *testing.T) {
	for _, cached := range []bool{false, true} {
		h := newHarness(t)
		if cached {
			c, err := cache.New(context.Background(), h.fake, cache.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			h.svc, err = New(Config{Engine: c, RootDir: h.root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
		}
		sb := h.runSandbox("nostart")
		id := h.createContainer(sb, "app")
		if err := h.fake.FailNextStart(id, "exec: no such file"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err == nil {
			t.Fatal("the start did not fail")
		}
		st, err := h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil || st.Status.State != runtimeapi.ContainerState_CONTAINER_EXITED {
			t.Fatalf("cached %v: ContainerStatus %v, %v; want EXITED", cached, st.GetStatus().GetState(), err)
		}
		list, err := h.svc.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{})
		if err != nil || len(list.Containers) != 1 || list.Containers[0].State != runtimeapi.ContainerState_CONTAINER_EXITED {
			t.Fatalf("cached %v: ListContainers %v, %v; want it EXITED", cached, list.GetContainers(), err)
		}
	}
}
