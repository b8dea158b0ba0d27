package pod

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// mayStart reports whether the supervisor may make p now. A pod that
// names one to start after (a StatefulSet's ordinal under OrderedReady)
// waits until that pod and each it starts after in turn is Running and
// Ready, as the StatefulSet controller creates ordinal n+1 only then; a
// pod a worker already ran (it has a status) is adopted whatever the
// others' state. byName holds the pods of p's manifest by namespace/name;
// status gives a running pod's status (ok false: not running).
func mayStart(p *corev1.Pod, byName map[string]*corev1.Pod, status func(uid string) (PodStatus, bool), started func(uid string) bool) bool {
	if started(string(p.UID)) {
		return true
	}
	seen := map[string]bool{}
	for q := p; ; {
		after := q.Annotations[naming.PlayAnnotationStartAfter]
		if after == "" {
			return true
		}
		k := key(q.Namespace, after)
		prev, ok := byName[k]
		if !ok || seen[k] {
			return true // the set shrank, or a loop: nothing to wait for
		}
		seen[k] = true
		st, ok := status(string(prev.UID))
		if !ok || st.Phase != corev1.PodRunning || !st.Ready {
			return false
		}
		q = prev
	}
}

// mayStartLocked is mayStart over the supervisor's runners (s.mu held).
// An ordinal whose new pod waits for its old one to go counts as the old
// one: during a rolling update the old pod is the ordinal.
func (s *Supervisor) mayStartLocked(p *corev1.Pod, byName map[string]*corev1.Pod, old map[string][]*corev1.Pod) bool {
	nameOf := map[string]string{}
	for k, q := range byName {
		nameOf[string(q.UID)] = k
	}
	return mayStart(p, byName, func(uid string) (PodStatus, bool) {
		if r, ok := s.runners[uid]; ok {
			return r.w.Status(), true
		}
		for _, o := range old[nameOf[uid]] {
			if r, ok := s.runners[string(o.UID)]; ok {
				return r.w.Status(), true
			}
		}
		return PodStatus{}, false
	}, func(uid string) bool {
		if _, ok := s.runners[uid]; ok {
			return true
		}
		_, ok := s.store.ReadStatus(uid)
		return ok
	})
}
