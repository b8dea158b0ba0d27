package pod

import "strings"

// Reasons after which a container does not start without a change to the
// manifest or the host: play --wait stops at once on them.
var stuckReasons = map[string]bool{
	"ErrImageNeverPull":          true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// stuckRetries is how many failed pulls (or sandbox creations) make a pod
// stuck: the first attempt and the back-off's first retry.
const stuckRetries = 2

// Stuck reports why a pod cannot progress, for play --wait to fail fast:
// the reason and the engine's message, or ok false while it may still.
func (s *PodStatus) Stuck() (reason, msg string, ok bool) {
	if s.Terminal {
		return "", "", false
	}
	if s.Reason == "SandboxError" && s.eventCount("FailedCreatePodSandBox", "") >= stuckRetries {
		return s.Reason, s.Message, true
	}
	for _, list := range [][]ContainerStatus{s.InitContainers, s.Containers} {
		for _, c := range list {
			if c.State != StateWaiting {
				continue
			}
			if stuckReasons[c.Reason] {
				return c.Reason, "container " + c.Name + ": " + c.Message, true
			}
			prefix := "Failed to pull image \"" + c.Image + "\": "
			if (c.Reason == "ErrImagePull" || c.Reason == "ImagePullBackOff") && s.eventCount("Failed", prefix) >= stuckRetries {
				return "ErrImagePull", "container " + c.Name + ": " + s.lastEvent("Failed", prefix), true
			}
		}
	}
	return "", "", false
}

// eventCount counts the occurrences of events with reason whose message
// starts with prefix.
func (s *PodStatus) eventCount(reason, prefix string) int {
	n := 0
	for _, e := range s.Events {
		if e.Reason == reason && strings.HasPrefix(e.Message, prefix) {
			n += max(e.Count, 1)
		}
	}
	return n
}

// lastEvent is the message of the latest such event.
func (s *PodStatus) lastEvent(reason, prefix string) string {
	for i := len(s.Events) - 1; i >= 0; i-- {
		if e := s.Events[i]; e.Reason == reason && strings.HasPrefix(e.Message, prefix) {
			return e.Message
		}
	}
	return ""
}
