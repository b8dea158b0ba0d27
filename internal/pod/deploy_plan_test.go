package pod

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// deployPods makes a state's pods from "hash:ready" specs ("old:r", "new:-").
func deployPods(specs ...string) ([]DeploymentPod, map[string]bool) {
	var out []DeploymentPod
	ready := map[string]bool{}
	for i, s := range specs {
		hash, r, _ := strings.Cut(s, ":")
		p := &corev1.Pod{}
		p.Name = fmt.Sprintf("%s-%d", hash, i)
		p.UID = types.UID(p.Name)
		out = append(out, DeploymentPod{Pod: p, Hash: hash})
		ready[p.Name] = r == "r"
	}
	return out, ready
}

func TestPlanDeployment(t *testing.T) {
	rolling := func(n int32, surge, unavail *intstr.IntOrString) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		d.Spec.Replicas = ptr.To(n)
		if surge != nil || unavail != nil {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavail}
		}
		return d
	}
	recreate := &appsv1.Deployment{}
	recreate.Spec.Replicas = ptr.To[int32](2)
	recreate.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
	one, zero := ptr.To(intstr.FromInt32(1)), ptr.To(intstr.FromInt32(0))
	for _, tc := range []struct {
		name     string
		d        *appsv1.Deployment
		pods     []string
		removing int
		create   int
		removed  []string // the pods moved to Removing
	}{
		{name: "first play: every replica at once", d: rolling(3, nil, nil), create: 3},
		{name: "steady", d: rolling(2, nil, nil), pods: []string{"new:r", "new:r"}},
		{name: "scale up", d: rolling(3, nil, nil), pods: []string{"new:r"}, create: 2},
		{name: "scale down: the not ready first", d: rolling(1, nil, nil), pods: []string{"new:r", "new:-", "new:r"}, removed: []string{"new-1", "new-2"}},
		// 2 replicas, 25%: surge 1 (rounded up), unavailable 0 (down).
		{name: "rollout starts with one surge pod", d: rolling(2, nil, nil), pods: []string{"old:r", "old:r"}, create: 1},
		{name: "no old pod goes while the new one is not ready", d: rolling(2, nil, nil), pods: []string{"old:r", "old:r", "new:-"}},
		{name: "an old pod goes once the new one is ready", d: rolling(2, nil, nil), pods: []string{"old:r", "old:r", "new:r"}, removed: []string{"old-0"}},
		{name: "the next surge pod", d: rolling(2, nil, nil), pods: []string{"old:r", "new:r"}, create: 1},
		{name: "the last old pod", d: rolling(2, nil, nil), pods: []string{"old:r", "new:r", "new:r"}, removed: []string{"old-0"}},
		{name: "maxSurge 0, maxUnavailable 1: an old pod goes first", d: rolling(2, zero, one), pods: []string{"old:r", "old:r"}, removed: []string{"old-0"}},
		{name: "maxSurge 0: its replacement next", d: rolling(2, zero, one), pods: []string{"old:r"}, create: 1},
		{name: "not ready old pods go first", d: rolling(3, one, zero), pods: []string{"old:r", "old:-", "old:r", "new:r"}, removed: []string{"old-1"}},
		{name: "maxSurge 2 of 4", d: rolling(4, ptr.To(intstr.FromString("50%")), zero), pods: []string{"old:r", "old:r", "old:r", "old:r"}, create: 2},
		{name: "Recreate: every old pod goes first", d: recreate, pods: []string{"old:r", "old:r"}, removed: []string{"old-0", "old-1"}},
		{name: "Recreate: nothing new while the old ones are torn down", d: recreate, removing: 1},
		{name: "Recreate: then the new ones", d: recreate, create: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pods, ready := deployPods(tc.pods...)
			st := DeploymentState{Pods: pods}
			for range tc.removing {
				st.Removing = append(st.Removing, &corev1.Pod{})
			}
			next, create := planDeployment(tc.d, "new", st, ready)
			var removed []string
			for _, p := range next.Removing[tc.removing:] {
				removed = append(removed, p.Name)
			}
			if create != tc.create || strings.Join(removed, ",") != strings.Join(tc.removed, ",") {
				t.Fatalf("create %d removed %v, want %d %v", create, removed, tc.create, tc.removed)
			}
			if len(next.Pods)+len(removed) != len(tc.pods) || next.Hash != "new" {
				t.Fatalf("pods %d + removed %d of %d; hash %q", len(next.Pods), len(removed), len(tc.pods), next.Hash)
			}
		})
	}
}

func TestParseDeploymentStrategy(t *testing.T) {
	doc := func(strategy string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  strategy: " + strategy +
			"\n  template:\n    spec: {containers: [{name: c, image: i}]}\n"
	}
	for strategy, want := range map[string]string{
		"{type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}": "may not both be 0",
		"{type: Recreate, rollingUpdate: {maxSurge: 1}}":                         "may not be specified",
		"{type: Sometimes}": "want RollingUpdate or Recreate",
		"{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 25%}}": "",
	} {
		_, err := Parse("d.yaml", strings.NewReader(doc(strategy)))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", strategy, err, want)
		}
	}
}
