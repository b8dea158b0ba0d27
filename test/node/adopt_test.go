package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/pod/localimage"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// TestAdoptFromCRIDockerd switches a kubelet from cri-dockerd to
// `dockerlet serve --adopt-cri-dockerd` on the same socket under a running
// pod: the pod keeps its containers (same ids, restart count 0, nothing
// created again), its log (Docker's, behind cri-dockerd's symlink) and
// exec work through the kubelet, and deleting it removes it. CRI_DOCKERD
// names a cri-dockerd v0.4 binary, which is never part of this repository;
// without it the test is skipped.
func TestAdoptFromCRIDockerd(t *testing.T) {
	bin := os.Getenv("CRI_DOCKERD")
	if bin == "" {
		t.Skip("CRI_DOCKERD (a cri-dockerd v0.4 binary) is not set")
	}
	// cni: cri-dockerd's default, and both runtimes on one network.
	n := startNode(t, nodeOptions{Run: "adopt", CNI: true})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	docker := dockerClient(t)
	p := newPod("dlnode-ad", v1.RestartPolicyAlways, busybox("c", "echo adopted-hello; while :; do sleep 1; done"))
	full := n.fullName(p.Name)
	// Whatever cri-dockerd made and a failure left behind.
	t.Cleanup(func() { removePodContainers(docker, full) })

	n.stopKubelet(t)
	n.Serve.Stop()
	criRoot := filepath.Join(n.Dir, "cri-dockerd")
	stopCRIDockerd := startCRIDockerd(t, bin, n.Serve.Socket, criRoot, n.Serve.Opts.Args)
	if err := n.startKubelet(ctx); err != nil {
		t.Fatal(err)
	}
	n.addPod(t, p)
	before := n.waitPod(t, p.Name, 2*time.Minute, podReady)
	ids := func(p *v1.Pod) []string {
		var out []string
		for _, cs := range p.Status.ContainerStatuses {
			out = append(out, cs.ContainerID)
		}
		return out
	}
	beforeIDs := ids(before)
	sandboxes := func() []string {
		f := client.Filters{}
		f.Add("label", "io.kubernetes.pod.name="+full, "io.kubernetes.container.name=POD")
		r, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range r.Items {
			out = append(out, it.ID)
		}
		slices.Sort(out)
		return out
	}
	beforeSandboxes := sandboxes()
	t.Logf("under cri-dockerd: containers %v, sandboxes %v", beforeIDs, beforeSandboxes)

	n.stopKubelet(t)
	stopCRIDockerd()
	n.Serve.Opts.Args = append(n.Serve.Opts.Args, "--adopt-cri-dockerd", "--cri-dockerd-root-directory", criRoot)
	if err := n.Serve.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.startKubelet(ctx); err != nil {
		t.Fatal(err)
	}
	n.waitPod(t, p.Name, 2*time.Minute, podReady)
	time.Sleep(20 * time.Second) // two sync periods: time to act on anything it thinks wrong
	after := n.waitPod(t, p.Name, time.Minute, podReady)
	if got := ids(after); !slices.Equal(got, beforeIDs) {
		t.Errorf("containers under dockerlet %v, under cri-dockerd %v", got, beforeIDs)
	}
	for _, cs := range after.Status.ContainerStatuses {
		if cs.RestartCount != 0 {
			t.Errorf("container %s restarted %d times", cs.Name, cs.RestartCount)
		}
	}
	if got := sandboxes(); !slices.Equal(got, beforeSandboxes) {
		t.Errorf("sandboxes under dockerlet %v, under cri-dockerd %v", got, beforeSandboxes)
	}
	if out, err := n.logs(ctx, p.Name, "c", nil); err != nil || !strings.Contains(out, "adopted-hello") {
		t.Errorf("logs through the kubelet: %q, %v", out, err)
	}
	if out, err := n.run(ctx, p.Name, "c", "echo exec-ok"); err != nil || strings.TrimSpace(out) != "exec-ok" {
		t.Errorf("exec through the kubelet: %q, %v", out, err)
	}

	n.deletePod(t, p.Name)
	n.waitGone(t, p.Name, 2*time.Minute)
	conn, err := n.Serve.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The kubelet stops the sandbox once the pod is gone from its list.
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{
			Filter: &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ready := slices.ContainsFunc(list.Items, func(sb *runtimeapi.PodSandbox) bool { return slices.Contains(beforeSandboxes, sb.Id) })
		if !ready {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the deleted pod's adopted sandbox %v is still ready after a minute", beforeSandboxes)
			break
		}
	}
	checkDockerletCodes(t, n)
}

// startCRIDockerd runs cri-dockerd on socket with the CNI flags of the
// node's dockerlet (serveArgs) that cri-dockerd has, and returns its stop.
func startCRIDockerd(t *testing.T, bin, socket, root string, serveArgs []string) func() {
	t.Helper()
	_ = os.Remove(socket) // dockerlet's, left when it stopped
	logf, err := os.Create(filepath.Join(filepath.Dir(root), "cri-dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--container-runtime-endpoint", "unix://" + socket,
		"--cri-dockerd-root-directory", root,
		"--docker-endpoint", testutil.DockerHost(),
		"--pod-infra-container-image", localimage.Pause,
		"--streaming-bind-addr", "127.0.0.1:0",
	}
	for i := 0; i+1 < len(serveArgs); i++ {
		switch serveArgs[i] {
		case "--network-plugin", "--cni-bin-dir", "--cni-conf-dir", "--cni-cache-dir":
			args = append(args, serveArgs[i], serveArgs[i+1])
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := os.Stat(socket); err == nil {
			return stop
		}
		select {
		case <-exited:
			t.Fatalf("cri-dockerd exited; log %s", logf.Name())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cri-dockerd made no socket in 30 s; log %s", logf.Name())
		}
	}
}

// removePodContainers force-removes every container of the static pod.
func removePodContainers(c *client.Client, fullName string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := client.Filters{}
	f.Add("label", "io.kubernetes.pod.name="+fullName)
	r, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return
	}
	for _, it := range r.Items {
		_, _ = c.ContainerRemove(ctx, it.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
}
