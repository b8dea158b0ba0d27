package pod

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// rollingParams resolves a RollingUpdate's maxSurge (rounded up) and
// maxUnavailable (rounded down) against the replicas, 25% each by
// default, as the Deployment controller does; both 0 are refused when the
// manifest is read.
func rollingParams(d *appsv1.Deployment, replicas int) (surge, unavailable int, err error) {
	quarter := intstr.FromString("25%")
	s, u := &quarter, &quarter
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			s = ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			u = ru.MaxUnavailable
		}
	}
	if surge, err = intstr.GetScaledValueFromIntOrPercent(s, replicas, true); err != nil {
		return 0, 0, fmt.Errorf("maxSurge: %w", err)
	}
	if unavailable, err = intstr.GetScaledValueFromIntOrPercent(u, replicas, false); err != nil {
		return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1 // as the controller resolves 0/0 after rounding
	}
	return surge, unavailable, nil
}

// planDeployment is the Deployment controller's sync for one Deployment,
// a pure function of its spec, the current template's hash, its recorded
// state and which of its pods are ready (by UID): pods of another hash are
// old, those of hash new. It moves the pods to remove to st.Removing and
// returns how many new ones to make.
//
// Recreate removes every old pod first and makes the new ones once they
// are gone. RollingUpdate makes new pods up to replicas+maxSurge in all,
// and removes old ones (the not ready first) while at least
// replicas-maxUnavailable stay ready, as the controller scales its
// ReplicaSets.
func planDeployment(d *appsv1.Deployment, hash string, st DeploymentState, ready map[string]bool) (DeploymentState, int) {
	st.Pods = append([]DeploymentPod(nil), st.Pods...)
	st.Removing = append(st.Removing[:0:0], st.Removing...)
	st.Hash = hash
	replicas := replicas(d.Spec.Replicas)
	var newIdx, oldIdx []int
	for i, dp := range st.Pods {
		if dp.Hash == hash {
			newIdx = append(newIdx, i)
		} else {
			oldIdx = append(oldIdx, i)
		}
	}
	readyOf := func(idx []int) (n int) {
		for _, i := range idx {
			if ready[string(st.Pods[i].Pod.UID)] {
				n++
			}
		}
		return n
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		if len(oldIdx) > 0 {
			st.Removing = append(st.Removing, takeDeploymentPods(&st, oldIdx)...)
			return st, 0
		}
		if len(st.Removing) > 0 {
			return st, 0 // the old pods go before the new ones come
		}
		return scaleNew(st, newIdx, replicas, ready)
	}
	if len(oldIdx) == 0 {
		return scaleNew(st, newIdx, replicas, ready)
	}
	surge, unavailable, err := rollingParams(d, replicas)
	if err != nil {
		return st, 0
	}
	total := len(newIdx) + len(oldIdx)
	create := 0
	if len(newIdx) < replicas {
		create = max(0, min(replicas-len(newIdx), replicas+surge-total))
	}
	minAvailable := replicas - unavailable
	newUnavailable := len(newIdx) - readyOf(newIdx)
	maxScaledDown := total - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return st, create
	}
	// The old pods that are not ready go first: they serve nothing.
	var drop []int
	for _, i := range oldIdx {
		if len(drop) < maxScaledDown && !ready[string(st.Pods[i].Pod.UID)] {
			drop = append(drop, i)
		}
	}
	if room := readyOf(newIdx) + readyOf(oldIdx) - minAvailable; room > 0 {
		for _, i := range oldIdx {
			if room == 0 {
				break
			}
			if ready[string(st.Pods[i].Pod.UID)] {
				drop = append(drop, i)
				room--
			}
		}
	}
	st.Removing = append(st.Removing, takeDeploymentPods(&st, drop)...)
	return st, create
}

// scaleNew brings the new pods to replicas: how many to make, or the
// surplus (not ready first, then the newest) moved to Removing.
func scaleNew(st DeploymentState, newIdx []int, replicas int, ready map[string]bool) (DeploymentState, int) {
	if len(newIdx) <= replicas {
		return st, replicas - len(newIdx)
	}
	extra := len(newIdx) - replicas
	var drop []int
	for i := len(newIdx) - 1; i >= 0 && len(drop) < extra; i-- {
		if !ready[string(st.Pods[newIdx[i]].Pod.UID)] {
			drop = append(drop, newIdx[i])
		}
	}
	for i := len(newIdx) - 1; i >= 0 && len(drop) < extra; i-- {
		if ready[string(st.Pods[newIdx[i]].Pod.UID)] {
			drop = append(drop, newIdx[i])
		}
	}
	st.Removing = append(st.Removing, takeDeploymentPods(&st, drop)...)
	return st, 0
}

func takeDeploymentPods(st *DeploymentState, idx []int) []*corev1.Pod {
	drop := map[int]bool{}
	for _, i := range idx {
		drop[i] = true
	}
	var out []*corev1.Pod
	kept := st.Pods[:0:0]
	for i, dp := range st.Pods {
		if drop[i] {
			out = append(out, dp.Pod)
		} else {
			kept = append(kept, dp)
		}
	}
	st.Pods = kept
	return out
}
