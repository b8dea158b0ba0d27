package pod

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
)

func TestNextReplacements(t *testing.T) {
	m, err := Parse("s.yaml", strings.NewReader(orderedSet))
	if err != nil {
		t.Fatal(err)
	}
	newPods := m.Pods // web-0, web-1, web-2
	for _, p := range newPods {
		p.UID = k8stypes.UID("new-" + p.Name)
	}
	old := func(ordinals ...int) []*corev1.Pod {
		var out []*corev1.Pod
		for _, i := range ordinals {
			p := newPods[i].DeepCopy()
			p.UID = k8stypes.UID("old-" + p.Name)
			out = append(out, p)
		}
		return out
	}
	names := func(ps []*corev1.Pod) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return strings.Join(out, ",")
	}
	readySet := func(ready ...string) func(string) bool {
		return func(uid string) bool {
			for _, r := range ready {
				if uid == "new-"+r {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		name  string
		old   []*corev1.Pod
		ready []string
		want  string
	}{
		{name: "the highest ordinal first", old: old(0, 1, 2), want: "web-2"},
		{name: "the next once the new web-2 is ready", old: old(0, 1), ready: []string{"web-2"}, want: "web-1"},
		{name: "not before", old: old(0, 1), want: ""},
		{name: "every higher ordinal must be ready", old: old(0), ready: []string{"web-2"}, want: ""},
		{name: "the last", old: old(0), ready: []string{"web-1", "web-2"}, want: "web-0"},
		{name: "nothing to replace", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(nextReplacements(newPods, tc.old, readySet(tc.ready...))); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestReplacedPods: a re-play's changed StatefulSet ordinals that run are
// replaced in order; other pods, and ordinals that left, go at once.
func TestReplacedPods(t *testing.T) {
	store := Store{Dir: t.TempDir()}
	m1, _ := Parse("/s.yaml", strings.NewReader(orderedSet+"---\napiVersion: v1\nkind: Pod\nmetadata: {name: solo}\nspec: {containers: [{name: c, image: \"i:1\"}]}\n"))
	a1 := NewApplied(m1, nil, time.Now())
	for _, p := range a1.Pods {
		if p.Name != "web-2" { // web-2 never ran
			_ = store.WriteStatus(PodStatus{UID: string(p.UID), Name: p.Name})
		}
	}
	changed := strings.ReplaceAll(orderedSet+"---\napiVersion: v1\nkind: Pod\nmetadata: {name: solo}\nspec: {containers: [{name: c, image: \"i:1\"}]}\n", "i:1", "i:2")
	changed = strings.Replace(changed, "replicas: 3", "replicas: 2", 1)
	m2, _ := Parse("/s.yaml", strings.NewReader(changed))
	a2 := NewApplied(m2, a1, time.Now())
	kept := map[string]bool{}
	for _, p := range a2.Pods {
		kept[string(p.UID)] = true
	}
	replaced, gone := store.ReplacedPods(a2, a1, kept)
	var r, g []string
	for _, p := range replaced {
		r = append(r, p.Name)
	}
	for _, p := range gone {
		g = append(g, p.Name)
	}
	if strings.Join(r, ",") != "web-0,web-1" || strings.Join(g, ",") != "web-2,solo" {
		t.Fatalf("replaced %v, gone %v", r, g)
	}
}

func TestParseStatefulSetUpdateStrategy(t *testing.T) {
	with := func(s string) string {
		return strings.Replace(orderedSet, "  replicas: 3\n", "  replicas: 3\n  updateStrategy: "+s+"\n", 1)
	}
	m, err := Parse("s.yaml", strings.NewReader(with("{type: RollingUpdate}")))
	if err != nil || len(m.Warnings) != 0 {
		t.Fatalf("RollingUpdate: %v %v", err, m.Warnings)
	}
	if m, err = Parse("s.yaml", strings.NewReader(with("{type: OnDelete}"))); err != nil || len(m.Warnings) != 1 || m.Warnings[0].Path != "spec.updateStrategy.type" {
		t.Fatalf("OnDelete: %v %v", err, m.Warnings)
	}
	if _, err = Parse("s.yaml", strings.NewReader(with("{type: Sometimes}"))); err == nil || !strings.Contains(err.Error(), "updateStrategy") {
		t.Fatalf("unknown type: %v", err)
	}
}
