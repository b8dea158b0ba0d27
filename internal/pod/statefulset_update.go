package pod

import (
	"context"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// ordinalOf returns a StatefulSet pod's set and ordinal (ok false for any
// other pod).
func ordinalOf(p *corev1.Pod) (set string, ordinal int, ok bool) {
	set, found := strings.CutPrefix(p.Annotations[naming.PlayAnnotationOwner], "StatefulSet/")
	if !found {
		return "", 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(p.Name, set+"-"))
	return set, n, err == nil && n >= 0
}

// nextReplacements picks the old pods (a StatefulSet's, replaced by a
// re-play with a changed template) to stop now: in each set, those of the
// highest ordinal still alive, once the new pod of every higher ordinal is
// Running and Ready, as the StatefulSet controller's RollingUpdate deletes
// one pod at a time from the highest ordinal. pods are the record's pods,
// old the alive old ones.
func nextReplacements(pods, old []*corev1.Pod, ready func(uid string) bool) []*corev1.Pod {
	type setKey struct{ ns, set string }
	highest := map[setKey]int{}
	for _, o := range old {
		if set, n, ok := ordinalOf(o); ok {
			k := setKey{o.Namespace, set}
			if h, seen := highest[k]; !seen || n > h {
				highest[k] = n
			}
		}
	}
	blocked := map[setKey]bool{}
	for _, p := range pods {
		set, n, ok := ordinalOf(p)
		k := setKey{p.Namespace, set}
		if h, has := highest[k]; ok && has && n > h && !ready(string(p.UID)) {
			blocked[k] = true
		}
	}
	var out []*corev1.Pod
	for _, o := range old {
		set, n, ok := ordinalOf(o)
		k := setKey{o.Namespace, set}
		if ok && highest[k] == n && !blocked[k] {
			out = append(out, o)
		}
	}
	return out
}

// ReplacedPods sorts the pods a re-play takes away: a StatefulSet pod
// that runs (it has a status) and whose name stays (its template
// changed) is replaced in order by the supervisor (nextReplacements); any
// other goes at once. prev's own replaced pods still running go on
// waiting while their name stays.
func (s Store) ReplacedPods(a, prev *Applied, kept map[string]bool) (replaced, gone []*corev1.Pod) {
	names := map[string]bool{}
	for _, p := range a.Pods {
		names[key(p.Namespace, p.Name)] = true
	}
	for _, p := range append(append([]*corev1.Pod(nil), prev.Replaced...), prev.Pods...) {
		if kept[string(p.UID)] {
			continue
		}
		_, running := s.ReadStatus(string(p.UID))
		if _, _, ok := ordinalOf(p); ok && running && names[key(p.Namespace, p.Name)] {
			replaced = append(replaced, p)
		} else {
			gone = append(gone, p)
		}
	}
	return replaced, gone
}

// syncReplacedLocked keeps a's alive old StatefulSet pods supervised,
// starts the stop of those whose turn came, and returns them by name:
// the new pod of a name waits until its old one is gone (s.mu held).
func (s *Supervisor) syncReplacedLocked(ctx context.Context, a *Applied, objs Objects, want map[string]bool) map[string][]*corev1.Pod {
	oldByName := map[string][]*corev1.Pod{}
	var alive []*corev1.Pod
	for _, o := range a.Replaced {
		uid := string(o.UID)
		_, running := s.runners[uid]
		_, recorded := s.store.ReadStatus(uid)
		if !s.replacing[uid] && !running && !recorded {
			continue // stopped and removed: its turn is over
		}
		want[uid] = true
		if !s.replacing[uid] {
			s.startLocked(o, objs, a.SourceID)
		}
		alive = append(alive, o)
		oldByName[key(o.Namespace, o.Name)] = append(oldByName[key(o.Namespace, o.Name)], o)
	}
	ready := func(uid string) bool {
		r, ok := s.runners[uid]
		if !ok {
			return false
		}
		st := r.w.Status()
		return st.Phase == corev1.PodRunning && st.Ready
	}
	for _, o := range nextReplacements(a.Pods, alive, ready) {
		uid := string(o.UID)
		if s.replacing[uid] {
			continue
		}
		s.replacing[uid] = true
		go func() {
			if err := s.removePod(ctx, o, a); err != nil {
				s.cfg.Logger.Warn("stopping a replaced pod; retried", "pod", o.Name, "error", err)
			}
			s.mu.Lock()
			delete(s.replacing, uid)
			s.mu.Unlock()
		}()
	}
	return oldByName
}
