package pod

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Container states as kubectl shows them.
const (
	StateWaiting    = "Waiting"
	StateRunning    = "Running"
	StateTerminated = "Terminated"
)

// PodStatus is the supervisor's view of one pod: what `get pods`,
// `describe pod` and `play --wait` read.
type PodStatus struct {
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	UID       string          `json:"uid"`
	Source    string          `json:"source,omitempty"`
	Phase     corev1.PodPhase `json:"phase"`
	Reason    string          `json:"reason,omitempty"`
	Message   string          `json:"message,omitempty"`
	PodIP     string          `json:"podIP,omitempty"`
	SandboxID string          `json:"sandboxID,omitempty"`
	Created   time.Time       `json:"created"`
	StartTime time.Time       `json:"startTime,omitzero"`
	Ready     bool            `json:"ready"`
	// Terminal is true when the pod will not change any more (Succeeded or
	// Failed with no restarts to come).
	Terminal       bool              `json:"terminal,omitempty"`
	InitContainers []ContainerStatus `json:"initContainers,omitempty"`
	Containers     []ContainerStatus `json:"containers"`
	Events         []Event           `json:"events,omitempty"`
	// Backoff is the pod's restart back-off, for a restarted supervisor.
	Backoff map[string]BackoffState `json:"backoff,omitempty"`
	Updated time.Time               `json:"updated"`
}

// ContainerStatus is one container's state as kubectl shows it.
type ContainerStatus struct {
	Name         string    `json:"name"`
	Image        string    `json:"image"`
	ID           string    `json:"id,omitempty"`
	State        string    `json:"state"`
	Reason       string    `json:"reason,omitempty"`
	Message      string    `json:"message,omitempty"`
	ExitCode     int32     `json:"exitCode,omitempty"`
	StartedAt    time.Time `json:"startedAt,omitzero"`
	FinishedAt   time.Time `json:"finishedAt,omitzero"`
	Ready        bool      `json:"ready"`
	Started      bool      `json:"started"`
	RestartCount int32     `json:"restartCount"`
	LogPath      string    `json:"logPath,omitempty"` // absolute
	// Sidecar marks a restartable init container (restartPolicy Always).
	Sidecar bool `json:"sidecar,omitempty"`
}

// Event is something the supervisor did or saw, as `describe` lists them.
type Event struct {
	Time    time.Time `json:"time"` // the latest occurrence
	Type    string    `json:"type"` // Normal or Warning
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	// Count and First aggregate repeats, as Kubernetes events do.
	Count int       `json:"count,omitempty"`
	First time.Time `json:"first,omitzero"`
}

// maxEvents bounds a pod's event list.
const maxEvents = 50

// ReadyCount returns "ready/total" app containers.
func (s *PodStatus) ReadyCount() (ready, total int) {
	for _, c := range s.Containers {
		if c.Ready {
			ready++
		}
	}
	return ready, len(s.Containers)
}

// Restarts is the sum of the app containers' restart counts.
func (s *PodStatus) Restarts() int32 {
	var n int32
	for _, c := range s.Containers {
		n += c.RestartCount
	}
	return n
}

// Container returns the named container's status (app or init).
func (s *PodStatus) Container(name string) (*ContainerStatus, bool) {
	for _, list := range [][]ContainerStatus{s.Containers, s.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i], true
			}
		}
	}
	return nil, false
}

// DisplayStatus is kubectl's STATUS column: a waiting/terminated reason
// when one explains the pod better than its phase.
func (s *PodStatus) DisplayStatus() string {
	for i, c := range s.InitContainers {
		if c.State == StateTerminated && c.ExitCode == 0 || c.Sidecar && (c.State == StateRunning || s.Phase != corev1.PodPending) {
			continue
		}
		if c.Reason != "" && c.Reason != "Completed" {
			return "Init:" + c.Reason
		}
		return "Init:" + itoa(i) + "/" + itoa(len(s.InitContainers))
	}
	reason := string(s.Phase)
	if s.Reason != "" {
		reason = s.Reason
	}
	for _, c := range s.Containers {
		if c.State == StateWaiting && c.Reason != "" && c.Reason != "ContainerCreating" {
			return c.Reason
		}
		if c.State == StateTerminated && c.Reason != "" && !s.Terminal && s.Phase == corev1.PodRunning {
			return c.Reason
		}
	}
	return reason
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
