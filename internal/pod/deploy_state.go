package pod

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
)

// DeploymentState is the Deployment controller's record of one Deployment
// (by the Deployment's UID, which a re-play of the same name keeps): the
// pods it made, each with the hash of the template it was made from, and
// those being removed. Written before each action, as a Job's state.
type DeploymentState struct {
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Hash is the template hash of the latest rollout.
	Hash     string          `json:"hash,omitempty"`
	Pods     []DeploymentPod `json:"pods,omitempty"`
	Removing []*corev1.Pod   `json:"removing,omitempty"`
	Events   []Event         `json:"events,omitempty"`
}

// DeploymentPod is one pod of a Deployment and its template's hash (its
// pod-template-hash label).
type DeploymentPod struct {
	Pod  *corev1.Pod `json:"pod"`
	Hash string      `json:"hash"`
}

// AllPods are the pods the Deployment has in the runtime.
func (s *DeploymentState) AllPods() []*corev1.Pod {
	out := make([]*corev1.Pod, 0, len(s.Pods)+len(s.Removing))
	for _, p := range s.Pods {
		out = append(out, p.Pod)
	}
	return append(out, s.Removing...)
}

func (s *DeploymentState) event(e Event) {
	s.Events = append(s.Events, e)
	if len(s.Events) > maxEvents {
		s.Events = s.Events[len(s.Events)-maxEvents:]
	}
}

func (s Store) deploymentsDir() string { return filepath.Join(s.Dir, "deployments") }

// SaveDeployment records a Deployment's state.
func (s Store) SaveDeployment(st *DeploymentState) error {
	return writeJSON(filepath.Join(s.deploymentsDir(), st.UID+".json"), st)
}

// LoadDeployment returns the state of the Deployment uid, nil when none.
func (s Store) LoadDeployment(uid string) (*DeploymentState, error) {
	var st DeploymentState
	err := readJSON(filepath.Join(s.deploymentsDir(), uid+".json"), &st)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// DeleteDeployment forgets the Deployment uid's state.
func (s Store) DeleteDeployment(uid string) {
	_ = os.Remove(filepath.Join(s.deploymentsDir(), uid+".json"))
}

// TemplateHash names a pod template, as the pod-template-hash label does:
// 10 characters of the generateName alphabet.
func TemplateHash(t *corev1.PodTemplateSpec) string {
	b, _ := json.Marshal(t)
	sum := sha256.Sum256(b)
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	out := make([]byte, 10)
	for i := range out {
		out[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(out)
}
