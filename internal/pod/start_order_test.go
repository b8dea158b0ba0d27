package pod

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dockerlet/dockerlet/internal/naming"
)

const orderedSet = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 3
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "i:1"}]
`

func TestStatefulSetStartOrder(t *testing.T) {
	m, err := Parse("s.yaml", strings.NewReader(orderedSet))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*corev1.Pod{}
	for _, p := range m.Pods {
		p.UID = types.UID("uid-" + p.Name)
		byName[key(p.Namespace, p.Name)] = p
	}
	if got := m.Pods[0].Annotations[naming.PlayAnnotationStartAfter] + "," + m.Pods[1].Annotations[naming.PlayAnnotationStartAfter] + "," +
		m.Pods[2].Annotations[naming.PlayAnnotationStartAfter]; got != ",web-0,web-1" {
		t.Fatalf("start-after annotations: %q", got)
	}
	ready := PodStatus{Phase: corev1.PodRunning, Ready: true}
	for _, tc := range []struct {
		name    string
		pod     int
		running map[string]PodStatus // by uid
		started map[string]bool
		want    bool
	}{
		{name: "ordinal 0 starts at once", pod: 0, want: true},
		{name: "ordinal 1 waits for 0 to run", pod: 1, want: false},
		{name: "ordinal 1 waits for 0 to be ready", pod: 1, running: map[string]PodStatus{"uid-web-0": {Phase: corev1.PodRunning}}, want: false},
		{name: "ordinal 1 once 0 is Running and Ready", pod: 1, running: map[string]PodStatus{"uid-web-0": ready}, want: true},
		{name: "ordinal 2 needs every earlier ordinal ready", pod: 2, running: map[string]PodStatus{"uid-web-1": ready, "uid-web-0": {Phase: corev1.PodRunning}}, want: false},
		{name: "ordinal 2 with 0 and 1 ready", pod: 2, running: map[string]PodStatus{"uid-web-1": ready, "uid-web-0": ready}, want: true},
		{name: "a pod already started is adopted", pod: 2, started: map[string]bool{"uid-web-2": true}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mayStart(m.Pods[tc.pod], byName, func(uid string) (PodStatus, bool) {
				st, ok := tc.running[uid]
				return st, ok
			}, func(uid string) bool { return tc.started[uid] })
			if got != tc.want {
				t.Fatalf("mayStart = %v, want %v", got, tc.want)
			}
		})
	}

	par, err := Parse("s.yaml", strings.NewReader(strings.Replace(orderedSet, "  replicas: 3\n", "  replicas: 3\n  podManagementPolicy: Parallel\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range par.Pods {
		if _, ok := p.Annotations[naming.PlayAnnotationStartAfter]; ok {
			t.Fatalf("Parallel: %s waits for another", p.Name)
		}
	}
	if _, err := Parse("s.yaml", strings.NewReader(strings.Replace(orderedSet, "  replicas: 3\n", "  podManagementPolicy: Sometimes\n", 1))); err == nil ||
		!strings.Contains(err.Error(), "podManagementPolicy") {
		t.Fatalf("bad policy: %v", err)
	}
}

// TestSupervisorStartsOrdinalsInOrder: the supervisor makes ordinal 1 only
// once ordinal 0 is Running and Ready.
func TestSupervisorStartsOrdinalsInOrder(t *testing.T) {
	doc := strings.Replace(orderedSet, `[{name: c, image: "i:1"}]`, `[{name: c, image: "i:1", readinessProbe: {exec: {command: ["ready"]}, periodSeconds: 1}}]`, 1)
	m, err := Parse("/s.yaml", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	store := Store{Dir: t.TempDir()}
	a := NewApplied(m, nil, time.Now())
	if err := store.SaveApplied(a); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	rt := newFakeRuntime(clock)
	rt.images["i:1"] = true
	h := &fakeHandler{probes: map[string]bool{"c/exec": false}}
	cfg := Config{Runtime: rt, StateDir: store.Dir, Clock: clock, Handler: h, SyncPeriod: 5 * time.Millisecond}
	sup := NewSupervisor(cfg, store, nil)
	sup.ReloadPeriod = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = sup.Run(ctx) }()
	sandboxes := func() []string {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		var out []string
		for _, sb := range rt.sandboxes {
			out = append(out, sb.Metadata.Name)
		}
		sort.Strings(out)
		return out
	}
	waitFor(t, "ordinal 0", func() bool { return len(sandboxes()) == 1 })
	time.Sleep(50 * time.Millisecond)
	if got := sandboxes(); len(got) != 1 || got[0] != "web-0" {
		t.Fatalf("before web-0 is ready: %v", got)
	}
	h.set("c/exec", true)
	clock.Advance(2 * time.Second) // the next probe is due
	waitFor(t, "every ordinal", func() bool { return len(sandboxes()) == 3 })
}
