package pod

import (
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIPod is p as the API server would return it with st as its status:
// what `kubectl get pod -o yaml` prints.
func APIPod(p *corev1.Pod, st PodStatus) *corev1.Pod {
	out := p.DeepCopy()
	out.APIVersion, out.Kind = "v1", "Pod"
	if out.Spec.NodeName == "" {
		out.Spec.NodeName, _ = os.Hostname()
	}
	if out.Spec.RestartPolicy == "" {
		out.Spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	s := corev1.PodStatus{
		Phase:   st.Phase,
		Reason:  st.Reason,
		Message: st.Message,
		HostIP:  "127.0.0.1",
		PodIP:   st.PodIP,
	}
	if s.Phase == "" {
		s.Phase = corev1.PodPending
	}
	s.HostIPs = []corev1.HostIP{{IP: s.HostIP}}
	if st.PodIP != "" {
		s.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	}
	if !st.StartTime.IsZero() {
		t := metav1.NewTime(st.StartTime)
		s.StartTime = &t
	}
	for _, c := range st.InitContainers {
		s.InitContainerStatuses = append(s.InitContainerStatuses, apiContainerStatus(c))
	}
	for _, c := range st.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, apiContainerStatus(c))
	}
	s.Conditions = apiConditions(st, p.CreationTimestamp.Time)
	out.Status = s
	return out
}

// apiConditions are the kubelet's four pod conditions.
func apiConditions(st PodStatus, created time.Time) []corev1.PodCondition {
	initialized := true
	for _, c := range st.InitContainers {
		if !c.Sidecar && (c.State != StateTerminated || c.ExitCode != 0) {
			initialized = false
		}
	}
	ready, _ := st.ReadyCount()
	containersReady := ready == len(st.Containers) && len(st.Containers) > 0
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(created)}
		if ok {
			c.Status = corev1.ConditionTrue
		}
		return c
	}
	return []corev1.PodCondition{
		cond(corev1.PodInitialized, initialized),
		cond(corev1.PodReady, st.Ready),
		cond(corev1.ContainersReady, containersReady),
		cond(corev1.PodScheduled, true),
	}
}

func apiContainerStatus(c ContainerStatus) corev1.ContainerStatus {
	out := corev1.ContainerStatus{
		Name:         c.Name,
		Image:        c.Image,
		Ready:        c.Ready,
		RestartCount: c.RestartCount,
	}
	started := c.Started
	out.Started = &started
	if c.ID != "" {
		out.ContainerID = "docker://" + c.ID
	}
	switch c.State {
	case StateRunning:
		out.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.StartedAt)}
	case StateTerminated:
		out.State.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: c.ExitCode, Reason: c.Reason, Message: c.Message, ContainerID: out.ContainerID,
			StartedAt: metav1.NewTime(c.StartedAt), FinishedAt: metav1.NewTime(c.FinishedAt),
		}
	default:
		out.State.Waiting = &corev1.ContainerStateWaiting{Reason: c.Reason, Message: c.Message}
	}
	return out
}
