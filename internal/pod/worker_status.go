package pod

import (
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// computeStatus derives the pod's phase and per-container states from what
// the CRI reports, the kubelet's way.
func (w *Worker) computeStatus(conts containerSet) {
	s := &w.status
	s.Updated = w.cfg.Clock.Now()
	s.Backoff = w.cfg.Backoff.Export(string(w.pod.UID) + "/")
	s.InitContainers = s.InitContainers[:0]
	initDone := true
	sidecarsReady := true
	for i := range w.pod.Spec.InitContainers {
		c := &w.pod.Spec.InitContainers[i]
		cs := w.containerStatus(c, conts[c.Name], "PodInitializing")
		switch {
		case isSidecar(c):
			sidecarsReady = sidecarsReady && cs.Ready
			if cs.State != StateRunning || !cs.Started {
				initDone = initDone && w.initialized
			}
		case cs.State != StateTerminated || cs.ExitCode != 0:
			initDone = initDone && w.initialized
		}
		s.InitContainers = append(s.InitContainers, cs)
	}
	s.Containers = s.Containers[:0]
	var running, neverStarted, failed, restarting int
	for i := range w.pod.Spec.Containers {
		c := &w.pod.Spec.Containers[i]
		st := conts[c.Name]
		waitDefault := "ContainerCreating"
		if !initDone {
			waitDefault = "PodInitializing"
		}
		cs := w.containerStatus(c, st, waitDefault)
		switch {
		case st == nil || st.State == runtimeapi.ContainerState_CONTAINER_CREATED:
			neverStarted++
		case st.State == runtimeapi.ContainerState_CONTAINER_RUNNING:
			running++
		case st.State == runtimeapi.ContainerState_CONTAINER_EXITED:
			if st.ExitCode != 0 {
				failed++
			}
			if shouldRestart(w.pod.Spec.RestartPolicy, st.ExitCode) {
				restarting++
			}
		}
		s.Containers = append(s.Containers, cs)
	}
	switch {
	case w.initFailed:
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

func (w *Worker) containerStatus(c *corev1.Container, st *runtimeapi.ContainerStatus, waitDefault string) ContainerStatus {
	cs := ContainerStatus{Name: c.Name, Image: c.Image, State: StateWaiting, Reason: waitDefault, Sidecar: isSidecar(c)}
	if wr, ok := w.waiting[c.Name]; ok {
		cs.Reason, cs.Message = wr.reason, wr.message
	}
	if st == nil {
		return cs
	}
	cs.ID = st.Id
	if st.Metadata != nil {
		cs.RestartCount = int32(st.Metadata.Attempt)
		cs.LogPath = filepath.Join(LogDir(w.podDir), ContainerLogPath(c.Name, st.Metadata.Attempt))
	}
	if st.StartedAt > 0 {
		cs.StartedAt = time.Unix(0, st.StartedAt)
	}
	switch st.State {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		cs.State, cs.Reason, cs.Message = StateRunning, "", ""
		p := w.probesFor(c, st)
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
		if wr, ok := w.waiting[c.Name]; ok && wr.reason == "CrashLoopBackOff" {
			// Terminated, waiting for its back-off to end: kubectl shows
			// CrashLoopBackOff with the last state's exit code.
			return cs
		}
		cs.State, cs.Reason, cs.Message = StateTerminated, st.Reason, st.Message
		if r, ok := w.killed[st.Id]; ok {
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
