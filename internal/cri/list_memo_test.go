package cri

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The unfiltered relist is answered with the same response while nothing
// changes, its encoding decoding to it, and so is each state filter's; a
// change (a new pod, a state change) gives a new one; other filters are
// never remembered.
func TestRelistRemembered(t *testing.T) {
	h := newHarness(t)
	svc := h.svc
	for _, name := range []string{"a", "b"} {
		h.createContainer(h.runSandbox(name), name)
	}
	codec := newRequestCodec()
	// settled waits until two relists in a row are the same response (the
	// cache answers from its own records once its events are applied).
	settled := func(what string) (*runtimeapi.ListPodSandboxResponse, *runtimeapi.ListContainersResponse) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s1, err1 := svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{})
			c1, err2 := svc.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{}})
			s2, err3 := svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{}})
			c2, err4 := svc.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{})
			for _, err := range []error{err1, err2, err3, err4} {
				if err != nil {
					t.Fatal(err)
				}
			}
			if s1 == s2 && c1 == c2 {
				return s1, c1
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the relist was never answered with the same response", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	encodedAsOrdinary := func(m proto.Message) {
		t.Helper()
		got, err := codec.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back := m.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(got.Materialize(), back); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(back, m) {
			t.Errorf("a remembered %T decodes to\n%v\nnot\n%v", m, back, m)
		}
	}
	sbs, cs := settled("two pods")
	if len(sbs.Items) != 2 || len(cs.Containers) != 2 {
		t.Fatalf("listed %d sandboxes, %d containers; want 2 each", len(sbs.Items), len(cs.Containers))
	}
	encodedAsOrdinary(sbs)
	encodedAsOrdinary(cs)
	if b, ok := wireOf(sbs); !ok || len(b) == 0 {
		t.Error("the remembered sandbox relist has no stored encoding")
	}
	// Filtered by state alone (the kubelet's running pods): remembered
	// apart from the whole listing.
	ready := &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}}
	f1 := again(t, "ready sandboxes", func() proto.Message {
		r, _ := svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{Filter: ready})
		return r
	}).(*runtimeapi.ListPodSandboxResponse)
	if f1 == sbs || len(f1.Items) != 2 {
		t.Errorf("ready sandboxes: %d, the whole listing's response %v; want 2, false", len(f1.Items), f1 == sbs)
	}
	encodedAsOrdinary(f1)
	notReady := &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}}
	if nr, _ := svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{Filter: notReady}); len(nr.Items) != 0 || nr == f1 {
		t.Errorf("not-ready sandboxes: %d (the ready ones' response %v); want none", len(nr.Items), nr == f1)
	}
	running := &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}
	r1 := again(t, "running containers", func() proto.Message {
		r, _ := svc.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{Filter: running})
		return r
	})
	if r1 == proto.Message(cs) {
		t.Error("running containers: answered with the whole listing's response")
	}
	// Any other filter is answered afresh.
	sel := &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "x"}, State: ready.State}
	s1, _ := svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{Filter: sel})
	s2, _ := svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{Filter: sel})
	if s1 == s2 {
		t.Error("a list filtered by labels was answered with a remembered response")
	}
	// A change: a third pod, then a stop.
	c := h.runSandbox("c")
	sbs2, _ := settled("a third pod")
	if sbs2 == sbs || len(sbs2.Items) != 3 {
		t.Fatalf("after a new pod: %d sandboxes, same response %v; want 3, a new response", len(sbs2.Items), sbs2 == sbs)
	}
	if _, err := svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: c}); err != nil {
		t.Fatal(err)
	}
	sbs3, _ := settled("a stop")
	if sbs3 == sbs2 {
		t.Fatal("after a stop: the same response")
	}
	for _, it := range sbs3.Items {
		if it.Id == c && it.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
			t.Errorf("after a stop the relist shows the sandbox %v", it.State)
		}
	}
	encodedAsOrdinary(sbs3)
	// With the fast path off nothing is remembered.
	plain := h.node(TestNode{PlainLists: true})
	p1, _ := plain.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{})
	p2, _ := plain.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{})
	if p1 == p2 {
		t.Error("PlainLists: the relist was remembered")
	}
}

// again calls list until two calls in a row return the same response (a
// late event may replace the cache's listing meanwhile), and returns it.
func again(t *testing.T, what string, list func() proto.Message) proto.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, b := list(), list()
		if a == b {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never answered with a remembered response", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
