package pod

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// JobState is the Job controller's record of one Job (by the Job's UID):
// its status as the API's, the pods it made, and the back-off of its
// replacements. The supervisor writes it after every change, so that a new
// supervisor goes on where the last one stopped; get, describe, down and
// play --wait read it.
type JobState struct {
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`

	StartTime      time.Time      `json:"startTime,omitzero"`
	CompletionTime time.Time      `json:"completionTime,omitzero"`
	Active         int32          `json:"active"`
	Succeeded      int32          `json:"succeeded"`
	Failed         int32          `json:"failed"`
	Conditions     []JobCondition `json:"conditions,omitempty"`
	// CompletedIndexes are the completion indexes that succeeded
	// (completionMode Indexed), in order.
	CompletedIndexes []int32 `json:"completedIndexes,omitempty"`

	// FailuresAfterLastSuccess and LastFailure time the next replacement,
	// as the Job controller's back-off record does.
	FailuresAfterLastSuccess int32     `json:"failuresAfterLastSuccess,omitempty"`
	LastFailure              time.Time `json:"lastFailure,omitzero"`

	// Pods are the pods made and not removed, oldest first.
	Pods []JobPod `json:"pods,omitempty"`
	// Removing are pods taken from the Job (a failed Job's active ones,
	// every pod once its TTL passed) whose teardown is not done yet.
	Removing []*corev1.Pod `json:"removing,omitempty"`
	// PodsRemoved says ttlSecondsAfterFinished removed the Job's pods.
	PodsRemoved bool    `json:"podsRemoved,omitempty"`
	Events      []Event `json:"events,omitempty"`
}

// JobPod is one pod of a Job and whether its end was counted.
type JobPod struct {
	Pod *corev1.Pod `json:"pod"`
	// Counted is the phase (Succeeded, Failed) already added to the Job's
	// counts; empty while the pod runs.
	Counted corev1.PodPhase `json:"counted,omitempty"`
	// Index is the pod's completion index (completionMode Indexed).
	Index *int32 `json:"index,omitempty"`
}

// JobCondition is a Job's Complete or Failed condition.
type JobCondition struct {
	Type    batchv1.JobConditionType `json:"type"`
	Reason  string                   `json:"reason,omitempty"`
	Message string                   `json:"message,omitempty"`
	Time    time.Time                `json:"time"`
}

// Finished returns the Job's Complete or Failed condition (nil while it runs).
func (s *JobState) Finished() *JobCondition {
	for i := range s.Conditions {
		if t := s.Conditions[i].Type; t == batchv1.JobComplete || t == batchv1.JobFailed {
			return &s.Conditions[i]
		}
	}
	return nil
}

// Suspended reports the Suspended condition.
func (s *JobState) Suspended() bool {
	for _, c := range s.Conditions {
		if c.Type == batchv1.JobSuspended {
			return true
		}
	}
	return false
}

// DisplayStatus is kubectl's STATUS column of a Job.
func (s *JobState) DisplayStatus() string {
	if c := s.Finished(); c != nil {
		return string(c.Type)
	}
	if s.Suspended() {
		return "Suspended"
	}
	return "Running"
}

// AllPods are the pods the Job has in the runtime, removing ones included.
func (s *JobState) AllPods() []*corev1.Pod {
	out := make([]*corev1.Pod, 0, len(s.Pods)+len(s.Removing))
	for _, p := range s.Pods {
		out = append(out, p.Pod)
	}
	return append(out, s.Removing...)
}

func (s *JobState) event(now time.Time, typ, reason, msg string) {
	s.Events = append(s.Events, Event{Time: now, First: now, Count: 1, Type: typ, Reason: reason, Message: msg})
	if len(s.Events) > maxEvents {
		s.Events = s.Events[len(s.Events)-maxEvents:]
	}
}

func (s Store) jobsDir() string { return filepath.Join(s.Dir, "jobs") }

// SaveJob records a Job's state (private: its pods' specs may hold
// values from Secrets).
func (s Store) SaveJob(st *JobState) error {
	return writeJSON(filepath.Join(s.jobsDir(), st.UID+".json"), st)
}

// LoadJob returns the state of the Job uid, nil when none was recorded.
func (s Store) LoadJob(uid string) (*JobState, error) {
	var st JobState
	err := readJSON(filepath.Join(s.jobsDir(), uid+".json"), &st)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// DeleteJob forgets the Job uid's state.
func (s Store) DeleteJob(uid string) {
	_ = os.Remove(filepath.Join(s.jobsDir(), uid+".json"))
}

// PodsOf returns every pod a's manifest has: its own, then those its
// Deployments and Jobs made (as their recorded states say).
func (s Store) PodsOf(a *Applied) []*corev1.Pod {
	out := append([]*corev1.Pod(nil), a.Pods...)
	for _, d := range a.Deployments {
		if st, err := s.LoadDeployment(string(d.UID)); err == nil && st != nil {
			out = append(out, st.AllPods()...)
		}
	}
	for _, j := range a.Jobs {
		if st, err := s.LoadJob(string(j.UID)); err == nil && st != nil {
			out = append(out, st.AllPods()...)
		}
	}
	return out
}
