package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/test/bench/result"
)

const (
	runLabel      = "io.dockerlet.bench.run" // on every sandbox and container made here
	podNamespace  = "dlbench"
	containerName = "work"
)

type pod struct {
	sb, ctr string
}

// startTimes are one pod's RunPodSandbox, CreateContainer and
// StartContainer latencies and the total until ContainerStatus says
// RUNNING.
type startTimes [4]time.Duration

var startSteps = [4]string{"RunPodSandbox", "CreateContainer", "StartContainer", "PodStartup(total)"}

func (b *bench) sandboxConfig(i int) *runtimeapi.PodSandboxConfig {
	name := fmt.Sprintf("dlbench-%s-%d", b.runID, i)
	uid := fmt.Sprintf("%s-uid-%d", b.runID, i)
	c := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Uid: uid, Namespace: podNamespace},
		Hostname: fmt.Sprintf("dlbench-%d", i),
		Labels: map[string]string{runLabel: b.runID, "io.kubernetes.pod.name": name,
			"io.kubernetes.pod.namespace": podNamespace, "io.kubernetes.pod.uid": uid},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{
					Network: runtimeapi.NamespaceMode_POD,
					Pid:     runtimeapi.NamespaceMode_CONTAINER,
					Ipc:     runtimeapi.NamespaceMode_POD,
				},
			},
		},
	}
	if b.cfg.logDir != "" {
		c.LogDirectory = filepath.Join(b.cfg.logDir, podNamespace+"_"+name+"_"+uid)
		// The kubelet makes <pod log dir>/<container>/ before CreateContainer.
		_ = os.MkdirAll(filepath.Join(c.LogDirectory, containerName), 0o755)
	}
	return c
}

// startPod runs one sandbox with one container, as a kubelet's pod worker
// does, and waits until the container is RUNNING. A failed pod is
// returned too, with what exists of it, for teardown.
func (b *bench) startPod(ctx context.Context, i int) (pod, startTimes, error) {
	var d startTimes
	var p pod
	ctx, cancel := context.WithTimeout(ctx, b.cfg.rpcTimeout)
	defer cancel()
	sbCfg := b.sandboxConfig(i)
	t0 := time.Now()
	r, err := b.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
	d[0] = time.Since(t0)
	if err != nil {
		return p, d, fmt.Errorf("RunPodSandbox: %w", err)
	}
	p.sb = r.PodSandboxId
	t1 := time.Now()
	cr, err := b.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: p.sb,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: containerName},
			Image:    &runtimeapi.ImageSpec{Image: b.cfg.image},
			Command:  []string{"sleep", "3600"},
			LogPath:  containerName + "/0.log",
			Labels:   map[string]string{runLabel: b.runID, "io.kubernetes.container.name": containerName},
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: sbCfg.Linux.SecurityContext.NamespaceOptions}},
		},
		SandboxConfig: sbCfg,
	})
	d[1] = time.Since(t1)
	if err != nil {
		return p, d, fmt.Errorf("CreateContainer: %w", err)
	}
	p.ctr = cr.ContainerId
	t2 := time.Now()
	if _, err := b.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: p.ctr}); err != nil {
		return p, d, fmt.Errorf("StartContainer: %w", err)
	}
	d[2] = time.Since(t2)
	for {
		st, err := b.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: p.ctr})
		if err == nil && st.Status.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			break
		}
		if err == nil && st.Status.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			return p, d, fmt.Errorf("container exited: %s %s", st.Status.Reason, st.Status.Message)
		}
		if ctx.Err() != nil {
			return p, d, fmt.Errorf("waiting for RUNNING: %w", ctx.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
	d[3] = time.Since(t0)
	return p, d, nil
}

// stopTimes are StopContainer (no grace), StopPodSandbox,
// RemovePodSandbox and their total.
type stopTimes [4]time.Duration

var stopSteps = [4]string{"StopContainer", "StopPodSandbox", "RemovePodSandbox", "Teardown(total)"}

// teardownPod stops and removes one pod the way the kubelet's pod killer
// does: the container, then the sandbox, then its removal.
func (b *bench) teardownPod(p pod) (stopTimes, error) {
	var d stopTimes
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.rpcTimeout)
	defer cancel()
	t0 := time.Now()
	var firstErr error
	if p.ctr != "" {
		if _, err := b.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: p.ctr}); err != nil {
			firstErr = fmt.Errorf("StopContainer %s: %w", p.ctr, err)
		}
	}
	d[0] = time.Since(t0)
	t1 := time.Now()
	if _, err := b.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.sb}); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("StopPodSandbox %s: %w", p.sb, err)
	}
	d[1] = time.Since(t1)
	t2 := time.Now()
	if _, err := b.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.sb}); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("RemovePodSandbox %s: %w", p.sb, err)
	}
	d[2] = time.Since(t2)
	d[3] = time.Since(t0)
	return d, firstErr
}

// removeLogDirs deletes the pod log directories this run made.
func (b *bench) removeLogDirs() {
	if b.cfg.logDir == "" {
		return
	}
	matches, _ := filepath.Glob(filepath.Join(b.cfg.logDir, podNamespace+"_dlbench-"+b.runID+"-*"))
	for _, m := range matches {
		_ = os.RemoveAll(m)
	}
}

// cleanupStale removes the sandboxes of earlier interrupted runs (those
// with the run label, whatever run) that this runtime shows.
func (b *bench) cleanupStale(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.rpcTimeout)
	defer cancel()
	r, err := b.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return 0
	}
	n := 0
	for _, s := range r.Items {
		if _, ok := s.Labels[runLabel]; !ok {
			continue
		}
		_, _ = b.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.Id})
		if _, err := b.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.Id}); err == nil {
			n++
		}
	}
	return n
}

// burst starts n pods with `parallel` workers taking them from one queue,
// as the kubelet's pod workers do when pods arrive together, and reports
// the time from the first request until the last pod is RUNNING; then the
// same workers tear them down.
func (b *bench) burst(ctx context.Context, n, parallel int) (result.Burst, error) {
	res := result.Burst{Pods: n, Parallel: parallel}
	idx := make(chan int, n)
	for i := range n {
		idx <- b.next + i
	}
	close(idx)
	b.next += n
	var (
		mu    sync.Mutex
		pods  []pod
		total []time.Duration
		errs  []error
		wg    sync.WaitGroup
	)
	before := takeSnapshot(b.groups)
	t0 := time.Now()
	for range parallel {
		wg.Go(func() {
			for i := range idx {
				p, d, err := b.startPod(ctx, i)
				mu.Lock()
				if p.sb != "" {
					pods = append(pods, p)
				}
				if err != nil {
					errs = append(errs, err)
				} else {
					total = append(total, d[3])
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.AllRunning = result.MS(time.Since(t0))
	res.CPUPerPod, res.ChildCPU = cpuPerPod(before, takeSnapshot(b.groups), n)
	res.PerPod = *result.Summarize(total, len(errs))

	q := make(chan pod, len(pods))
	for _, p := range pods {
		q <- p
	}
	close(q)
	t1 := time.Now()
	for range parallel {
		wg.Go(func() {
			for p := range q {
				if _, err := b.teardownPod(p); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	res.TeardownAll = result.MS(time.Since(t1))
	if len(errs) > 0 {
		return res, fmt.Errorf("burst: %d errors, first: %w", len(errs), errs[0])
	}
	return res, nil
}
