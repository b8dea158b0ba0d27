package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// concClients is the number of CRI clients hammering the same ids at once.
const concClients = 8

// TestConcurrentClientsSameIDs runs 8 CRI clients (own gRPC connections)
// against the real dockerd, all calling the same RPC on the same pod or
// container at once, phase by phase: one pod attempt makes one sandbox,
// one container name one container; concurrent starts, stops and removes
// of one id all succeed; containers created while their pod is removed
// never outlive it. Nothing of the server's is left at the end.
func TestConcurrentClientsSameIDs(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	t.Cleanup(e.removeServerContainers) // a failed run's orphans too
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		t.Fatal(err)
	}
	clients := make([]runtimeapi.RuntimeServiceClient, concClients)
	for i := range clients {
		clients[i] = e.newClient()
	}
	// all runs fn once per client at the same time and returns the codes.
	all := func(fn func(i int, rt runtimeapi.RuntimeServiceClient) error) []codes.Code {
		out := make([]codes.Code, len(clients))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, rt := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				out[i] = status.Code(fn(i, rt))
			}()
		}
		close(start)
		wg.Wait()
		return out
	}
	count := func(cs []codes.Code, c codes.Code) int {
		n := 0
		for _, x := range cs {
			if x == c {
				n++
			}
		}
		return n
	}

	for round := range 3 {
		sbCfg := e.sandboxConfig(fmt.Sprintf("dlrob2-conc%d", round))
		var sbMu sync.Mutex
		sb := ""
		got := all(func(_ int, rt runtimeapi.RuntimeServiceClient) error {
			r, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
			if err == nil {
				sbMu.Lock()
				sb = r.PodSandboxId
				sbMu.Unlock()
			}
			return err
		})
		if count(got, codes.OK) != 1 || count(got, codes.AlreadyExists) != concClients-1 {
			t.Fatalf("round %d: RunPodSandbox codes %v, want one OK and the rest AlreadyExists", round, got)
		}
		if n := e.sandboxesNamed(ctx, sbCfg.Metadata.Name); n != 1 {
			t.Fatalf("round %d: %d sandboxes of one attempt", round, n)
		}

		cfg := &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Image:    &runtimeapi.ImageSpec{Image: e.busybox},
			Command:  []string{"sleep", "1000"},
			LogPath:  "app/0.log",
		}
		var ctr string
		got = all(func(_ int, rt runtimeapi.RuntimeServiceClient) error {
			r, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg, SandboxConfig: sbCfg})
			if err == nil {
				sbMu.Lock()
				ctr = r.ContainerId
				sbMu.Unlock()
			}
			return err
		})
		if count(got, codes.OK) != 1 || count(got, codes.AlreadyExists) != concClients-1 {
			t.Fatalf("round %d: CreateContainer codes %v, want one OK and the rest AlreadyExists", round, got)
		}
		got = all(func(i int, rt runtimeapi.RuntimeServiceClient) error {
			_, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr[:12+i]})
			return err
		})
		if count(got, codes.OK) != concClients {
			t.Fatalf("round %d: StartContainer codes %v", round, got)
		}
		if st := e.containerStatus(ctr); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			t.Fatalf("round %d: container %v after concurrent starts", round, st.State)
		}
		// Stops, status and updates of the one container mixed.
		got = all(func(i int, rt runtimeapi.RuntimeServiceClient) error {
			var err error
			switch i % 3 {
			case 0:
				_, err = rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ctr, Timeout: 1})
			case 1:
				_, err = rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
			case 2:
				_, err = rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{
					ContainerId: ctr, Linux: &runtimeapi.LinuxContainerResources{CpuShares: 256 + int64(i)},
				})
			}
			return err
		})
		if count(got, codes.OK) != concClients {
			t.Fatalf("round %d: stop/status/update codes %v", round, got)
		}
		if st := e.containerStatus(ctr); st.State != runtimeapi.ContainerState_CONTAINER_EXITED {
			t.Fatalf("round %d: container %v after concurrent stops", round, st.State)
		}

		// Half the clients create containers while the others stop and
		// remove the pod: whatever was created goes with it.
		got = all(func(i int, rt runtimeapi.RuntimeServiceClient) error {
			var err error
			switch i % 4 {
			case 0, 1:
				c := &runtimeapi.ContainerConfig{
					Metadata: &runtimeapi.ContainerMetadata{Name: fmt.Sprintf("late%d", i)},
					Image:    &runtimeapi.ImageSpec{Image: e.busybox},
					Command:  []string{"sleep", "1000"},
				}
				_, err = rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: c, SandboxConfig: sbCfg})
				if c := status.Code(err); c == codes.NotFound || c == codes.FailedPrecondition {
					err = nil // the pod went first
				}
			case 2:
				_, err = rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb})
			case 3:
				_, err = rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb})
			}
			if err != nil {
				t.Logf("client %d: %v", i, err)
			}
			return err
		})
		if count(got, codes.OK) != concClients {
			t.Fatalf("round %d: create/stop/remove codes %v", round, got)
		}
		// The removes above took every container a create made.
		if n := e.serverContainers(ctx); n != 0 {
			t.Fatalf("round %d: %d containers of the server left after its pod was removed", round, n)
		}
	}
}

// newClient opens another gRPC connection to the server.
func (e *env) newClient() runtimeapi.RuntimeServiceClient {
	e.t.Helper()
	conn, err := grpc.NewClient("unix://"+e.srv.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	return runtimeapi.NewRuntimeServiceClient(conn)
}

func (e *env) sandboxesNamed(ctx context.Context, name string) int {
	list, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, sb := range list.Items {
		if sb.Metadata.Name == name {
			n++
		}
	}
	return n
}

// serverContainers counts the Docker containers (sandboxes included) that
// carry this server's root directory.
func (e *env) serverContainers(ctx context.Context) int {
	root, err := filepath.Abs(filepath.Join(e.root, "state"))
	if err != nil {
		e.t.Fatal(err)
	}
	list, err := e.eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{"io.dockerlet.root-dir=" + root}})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
}

// removeServerContainers removes every Docker container of this server,
// orphans included (what a failure of the test could leave behind).
func (e *env) removeServerContainers() {
	ctx := context.Background()
	root, _ := filepath.Abs(filepath.Join(e.root, "state"))
	list, err := e.eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{"io.dockerlet.root-dir=" + root}})
	if err != nil {
		e.t.Logf("cleanup: %v", err)
		return
	}
	for _, c := range list {
		_ = e.eng.RemoveContainer(ctx, c.ID, engine.RemoveOptions{Force: true, RemoveVolumes: true})
	}
}
