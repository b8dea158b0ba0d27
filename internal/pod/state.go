package pod

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Store keeps the play state on disk, so that it survives the
// supervisor: which manifest created which pods (applied/), the
// supervisor's view of each pod (status/), and the pods' own directories
// (pods/<uid>: logs and volumes).
type Store struct{ Dir string }

// Applied is what one manifest created: its pods (with the UIDs given to
// them) and the objects they refer to.
type Applied struct {
	Source     string              `json:"source"`
	SourceID   string              `json:"sourceID"`
	AppliedAt  time.Time           `json:"appliedAt"`
	Pods       []*corev1.Pod       `json:"pods"`
	Secrets    []*corev1.Secret    `json:"secrets,omitempty"`
	ConfigMaps []*corev1.ConfigMap `json:"configMaps,omitempty"`
	// Claims are the PersistentVolumeClaims ("ns/name") declared or used:
	// what down --volumes removes.
	Claims []string `json:"claims,omitempty"`
	// Services name the pods their selectors pick (see hosts.go).
	Services []*corev1.Service `json:"services,omitempty"`
	// PublishAddress is where the Services' NodePort and LoadBalancer
	// ports are published ("": DefaultPublishAddress).
	PublishAddress string `json:"publishAddress,omitempty"`
	// Jobs (with the UIDs given to them) are run by the supervisor's Job
	// controller; their pods are in their states (Store.LoadJob).
	Jobs []*batchv1.Job `json:"jobs,omitempty"`
	// Deployments (with their UIDs, kept by name across re-plays: a changed
	// template is rolled out) are run by the Deployment controller.
	Deployments []*appsv1.Deployment `json:"deployments,omitempty"`
	// Replaced are StatefulSet pods a re-play changed, still running until
	// the supervisor stops them one at a time, highest ordinal first
	// (statefulset_update.go).
	Replaced []*corev1.Pod `json:"replaced,omitempty"`
}

// SourceID names a manifest source in the state: a short hash of its
// absolute path ("stdin" for -).
func SourceID(source string) string {
	if source == "-" {
		return "stdin"
	}
	sum := sha256.Sum256([]byte(source))
	return hex.EncodeToString(sum[:8])
}

// Objects gives the applied secrets and config maps to translation.
func (a *Applied) Objects() Objects {
	m := newManifest(a.Source)
	for _, s := range a.Secrets {
		m.Secrets[key(s.Namespace, s.Name)] = s
	}
	for _, c := range a.ConfigMaps {
		m.ConfigMaps[key(c.Namespace, c.Name)] = c
	}
	return m
}

// NewApplied turns a loaded manifest into the record to store. Pods that
// prev (the last apply of the same source, may be nil) already runs with an
// identical spec keep their UID and so keep running; others get new UIDs.
func NewApplied(m *Manifest, prev *Applied, now time.Time) *Applied {
	a := &Applied{Source: m.Source, SourceID: SourceID(m.Source), AppliedAt: now}
	old := map[string]*corev1.Pod{}
	if prev != nil {
		for _, p := range prev.Pods {
			old[key(p.Namespace, p.Name)] = p
		}
	}
	for _, p := range m.Pods {
		p = p.DeepCopy()
		if o, ok := old[key(p.Namespace, p.Name)]; ok && equality.Semantic.DeepEqual(o.Spec, p.Spec) &&
			equality.Semantic.DeepEqual(o.Labels, p.Labels) && equality.Semantic.DeepEqual(o.Annotations, p.Annotations) {
			p.UID, p.CreationTimestamp = o.UID, o.CreationTimestamp
		} else {
			p.UID = newUID()
			p.CreationTimestamp = metav1.NewTime(now)
		}
		a.Pods = append(a.Pods, p)
	}
	for _, k := range sortedKeys(m.Secrets) {
		a.Secrets = append(a.Secrets, m.Secrets[k])
	}
	for _, k := range sortedKeys(m.ConfigMaps) {
		a.ConfigMaps = append(a.ConfigMaps, m.ConfigMaps[k])
	}
	claims := maps.Clone(m.Claims)
	specs := map[string]*corev1.PodSpec{}
	for _, p := range m.Pods {
		specs[key(p.Namespace, p.Name)] = &p.Spec
	}
	for _, j := range m.Jobs {
		specs[key(j.Namespace, "job/"+j.Name)] = &j.Spec.Template.Spec
	}
	for _, d := range m.Deployments {
		specs[key(d.Namespace, "deployment/"+d.Name)] = &d.Spec.Template.Spec
	}
	for k, spec := range specs {
		ns, _, _ := strings.Cut(k, "/")
		for _, v := range spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				claims[key(ns, v.PersistentVolumeClaim.ClaimName)] = true
			}
		}
	}
	a.Claims = sortedKeys(claims)
	for _, k := range sortedKeys(m.Services) {
		a.Services = append(a.Services, m.Services[k])
	}
	a.Jobs = keepJobs(m.Jobs, prev, now)
	a.Deployments = keepDeployments(m.Deployments, prev, now)
	return a
}

// keepDeployments gives each Deployment the UID of prev's of the same name
// (the same Deployment: a changed template is rolled out), a new one
// otherwise.
func keepDeployments(ds []*appsv1.Deployment, prev *Applied, now time.Time) []*appsv1.Deployment {
	old := map[string]*appsv1.Deployment{}
	if prev != nil {
		for _, d := range prev.Deployments {
			old[key(d.Namespace, d.Name)] = d
		}
	}
	var out []*appsv1.Deployment
	for _, d := range ds {
		d = d.DeepCopy()
		if o, ok := old[key(d.Namespace, d.Name)]; ok {
			d.UID, d.CreationTimestamp = o.UID, o.CreationTimestamp
		} else {
			d.UID = newUID()
			d.CreationTimestamp = metav1.NewTime(now)
		}
		out = append(out, d)
	}
	return out
}

// sameJobSpec compares two Jobs' specs but for suspend: a Job suspended
// or resumed is the same Job.
func sameJobSpec(a, b *batchv1.Job) bool {
	sa, sb := a.Spec.DeepCopy(), b.Spec.DeepCopy()
	sa.Suspend, sb.Suspend = nil, nil
	return equality.Semantic.DeepEqual(sa, sb)
}

// keepJobs gives each Job its UID: that of prev's Job of the same name if
// nothing changed but suspend (so the Job goes on, or stays finished, as
// a re-applied unchanged Job does), a new one otherwise (a new run).
func keepJobs(jobs []*batchv1.Job, prev *Applied, now time.Time) []*batchv1.Job {
	old := map[string]*batchv1.Job{}
	if prev != nil {
		for _, j := range prev.Jobs {
			old[key(j.Namespace, j.Name)] = j
		}
	}
	var out []*batchv1.Job
	for _, j := range jobs {
		j = j.DeepCopy()
		if o, ok := old[key(j.Namespace, j.Name)]; ok && sameJobSpec(o, j) &&
			equality.Semantic.DeepEqual(o.Labels, j.Labels) && equality.Semantic.DeepEqual(o.Annotations, j.Annotations) {
			j.UID, j.CreationTimestamp = o.UID, o.CreationTimestamp
		} else {
			j.UID = newUID()
			j.CreationTimestamp = metav1.NewTime(now)
		}
		out = append(out, j)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func newUID() types.UID {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return types.UID(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
}

// Prepare makes the state directory private to its owner (0700): it holds
// the applied Secrets and, below pods/, the pods' volumes and logs. An
// existing directory is tightened; one that is not the caller's to tighten
// (another user's, or a shared sticky directory such as /tmp) is refused.
func (s Store) Prepare() error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	st, err := os.Stat(s.Dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("state directory %s: not a directory", s.Dir)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("state directory %s: owned by uid %d, not by this user: choose a private directory (--state-dir)", s.Dir, sys.Uid)
	}
	if st.Mode()&os.ModeSticky != 0 {
		return fmt.Errorf("state directory %s: a shared (sticky) directory: choose a private directory (--state-dir)", s.Dir)
	}
	if st.Mode().Perm() != 0o700 {
		return os.Chmod(s.Dir, 0o700)
	}
	return nil
}

func (s Store) appliedDir() string { return filepath.Join(s.Dir, "applied") }
func (s Store) statusDir() string  { return filepath.Join(s.Dir, "status") }

// PidFile is where the background supervisor records its pid.
func (s Store) PidFile() string { return filepath.Join(s.Dir, "supervisor.pid") }

// LockFile is held by the running supervisor.
func (s Store) LockFile() string { return filepath.Join(s.Dir, "supervisor.lock") }

// LogFile is the background supervisor's own log.
func (s Store) LogFile() string { return filepath.Join(s.Dir, "supervisor.log") }

// SaveApplied records a. The file holds secrets: it is private to root.
func (s Store) SaveApplied(a *Applied) error {
	return writeJSON(filepath.Join(s.appliedDir(), a.SourceID+".json"), a)
}

// LoadApplied returns the record of sourceID, or nil when there is none.
func (s Store) LoadApplied(sourceID string) (*Applied, error) {
	var a Applied
	err := readJSON(filepath.Join(s.appliedDir(), sourceID+".json"), &a)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// DeleteApplied forgets sourceID's record.
func (s Store) DeleteApplied(sourceID string) error {
	err := os.Remove(filepath.Join(s.appliedDir(), sourceID+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// ListApplied returns every record, oldest first.
func (s Store) ListApplied() ([]*Applied, error) {
	entries, err := os.ReadDir(s.appliedDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Applied
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		a, err := s.LoadApplied(id)
		if err != nil {
			return nil, err
		}
		if a != nil {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AppliedAt.Before(out[j].AppliedAt) })
	return out, nil
}

// WriteStatus records the supervisor's view of a pod.
func (s Store) WriteStatus(st PodStatus) error {
	return writeJSON(filepath.Join(s.statusDir(), st.UID+".json"), st)
}

// ReadStatus returns the recorded status of uid (ok false when none).
func (s Store) ReadStatus(uid string) (PodStatus, bool) {
	var st PodStatus
	if err := readJSON(filepath.Join(s.statusDir(), uid+".json"), &st); err != nil {
		return st, false
	}
	return st, true
}

// DeleteStatus forgets uid's status.
func (s Store) DeleteStatus(uid string) {
	_ = os.Remove(filepath.Join(s.statusDir(), uid+".json"))
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
