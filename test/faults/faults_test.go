// Package faults puts `dockerlet serve` (the real binary) through faults
// that are not crashes: a hung dockerd (a private one, frozen with
// SIGSTOP), a full log filesystem, a read-only root directory. The server
// must answer within its request timeout with a code that says what
// happened, keep what it can running, and recover when the fault goes.
package faults

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

const prefix = "dlhd"

const loopCmd = "trap 'exit 0' TERM; while :; do sleep 1; done"

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func workDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix+"-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o750)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// processGauges reads the server's own gauges from its /metrics.
func processGauges(addr string) (goroutines, fds, rss float64, err error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "go_goroutines":
			goroutines = v
		case "process_open_fds":
			fds = v
		case "process_resident_memory_bytes":
			rss = v
		}
	}
	return goroutines, fds, rss, sc.Err()
}

type pod struct {
	cfg       *runtimeapi.PodSandboxConfig
	sandbox   string
	container string
}

// runPod runs a pod with one looping container.
func runPod(ctx context.Context, rt runtimeapi.RuntimeServiceClient, name, image, logDir string) (pod, error) {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: prefix + "-" + name, Namespace: prefix, Uid: prefix + "-" + name + "-uid"},
		LogDirectory: logDir,
	}
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return pod{}, fmt.Errorf("RunPodSandbox: %w", err)
	}
	c, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: cfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: image},
		Command: []string{"sh", "-c", loopCmd}, LogPath: "c.log",
	}})
	if err != nil {
		return pod{}, fmt.Errorf("CreateContainer: %w", err)
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		return pod{}, fmt.Errorf("StartContainer: %w", err)
	}
	return pod{cfg: cfg, sandbox: sb.PodSandboxId, container: c.ContainerId}, nil
}

// removePod stops and removes a pod.
func removePod(ctx context.Context, rt runtimeapi.RuntimeServiceClient, sb string) error {
	if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
		return fmt.Errorf("StopPodSandbox: %w", err)
	}
	if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		return fmt.Errorf("RemovePodSandbox: %w", err)
	}
	return nil
}

// removeOwn removes whatever the server with root directory root left.
func removeOwn(eng engine.Engine, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{naming.LabelPrefix + "root-dir=" + root}})
	if err != nil {
		return
	}
	for _, c := range list {
		_ = eng.RemoveContainer(ctx, c.ID, engine.RemoveOptions{Force: true})
	}
}
