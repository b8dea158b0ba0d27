package pod

import (
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// computeStatus derives the pod's phase and per-container states, the
// kubelet's way, from what the CRI reports and the worker remembers; it
// writes nothing but s.
func computeStatus(s *PodStatus, pod *corev1.Pod, obs observed, podDir string, now time.Time) {
	conts, mem := obs.containers, obs.mem
	s.InitContainers = s.InitContainers[:0]
	initDone := true
	sidecarsReady := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := containerStatus(c, conts[c.Name], "PodInitializing", mem, podDir, now)
		switch {
		case isSidecar(c):
			sidecarsReady = sidecarsReady && cs.Ready
			if cs.State != StateRunning || !cs.Started {
				initDone = initDone && mem.initialized
			}
		case cs.State != StateTerminated || cs.ExitCode != 0:
			initDone = initDone && mem.initialized
		}
		s.InitContainers = append(s.InitContainers, cs)
	}
	s.Containers = s.Containers[:0]
	var running, neverStarted, failed, restarting int
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		st := conts[c.Name]
		waitDefault := "ContainerCreating"
		if !initDone {
			waitDefault = "PodInitializing"
		}
		cs := containerStatus(c, st, waitDefault, mem, podDir, now)
		switch {
		case st == nil || st.State == runtimeapi.ContainerState_CONTAINER_CREATED:
			neverStarted++
		case st.State == runtimeapi.ContainerState_CONTAINER_RUNNING:
			running++
		case st.State == runtimeapi.ContainerState_CONTAINER_EXITED:
			if st.ExitCode != 0 {
				failed++
			}
			if shouldRestart(pod.Spec.RestartPolicy, st.ExitCode) {
				restarting++
			}
		}
		s.Containers = append(s.Containers, cs)
	}
	switch {
	case mem.initFailed:
		s.Phase = corev1.PodFailed
		s.Reason = "InitContainerFailed"
	case !initDone:
		s.Phase = corev1.PodPending
	case neverStarted > 0 && running == 0 && restarting == 0:
		s.Phase = corev1.PodPending
	case running > 0 || restarting > 0 || neverStarted > 0:
		s.Phase = corev1.PodRunning
	case failed > 0:
		s.Phase = corev1.PodFailed
	default:
		s.Phase = corev1.PodSucceeded
	}
	s.Terminal = s.Phase == corev1.PodSucceeded || s.Phase == corev1.PodFailed
	ready := s.Phase == corev1.PodRunning && sidecarsReady
	for _, cs := range s.Containers {
		ready = ready && cs.Ready
	}
	s.Ready = ready
}

func containerStatus(c *corev1.Container, st *runtimeapi.ContainerStatus, waitDefault string, mem *memory, podDir string, now time.Time) ContainerStatus {
	cs := ContainerStatus{Name: c.Name, Image: c.Image, State: StateWaiting, Reason: waitDefault, Sidecar: isSidecar(c)}
	if wr, ok := mem.waiting[c.Name]; ok {
		cs.Reason, cs.Message = wr.reason, wr.message
	}
	if st == nil {
		return cs
	}
	cs.ID = st.Id
	if st.Metadata != nil {
		cs.RestartCount = int32(st.Metadata.Attempt)
		cs.LogPath = filepath.Join(LogDir(podDir), ContainerLogPath(c.Name, st.Metadata.Attempt))
	}
	if st.StartedAt > 0 {
		cs.StartedAt = time.Unix(0, st.StartedAt)
	}
	switch st.State {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		cs.State, cs.Reason, cs.Message = StateRunning, "", ""
		p := probesOf(mem, c, st, now)
		cs.Started = p.started()
		cs.Ready = p.ready()
		switch {
		case !cs.Started && p.startup.lastMessage != "":
			cs.Message = "Startup probe failed: " + p.startup.lastMessage
		case !cs.Ready && p.readiness != nil && p.readiness.lastMessage != "":
			cs.Message = "Readiness probe failed: " + p.readiness.lastMessage
		}
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		cs.ExitCode = st.ExitCode
		if st.FinishedAt > 0 {
			cs.FinishedAt = time.Unix(0, st.FinishedAt)
		}
		if wr, ok := mem.waiting[c.Name]; ok && wr.reason == "CrashLoopBackOff" {
			// Terminated, waiting for its back-off to end: kubectl shows
			// CrashLoopBackOff with the last state's exit code.
			return cs
		}
		cs.State, cs.Reason, cs.Message = StateTerminated, st.Reason, st.Message
		if r, ok := mem.killed[st.Id]; ok {
			cs.Reason = r
		}
		if cs.Reason == "" {
			cs.Reason = "Error"
			if st.ExitCode == 0 {
				cs.Reason = "Completed"
			}
		}
	}
	return cs
}
