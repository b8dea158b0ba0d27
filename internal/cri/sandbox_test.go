package cri

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

func TestRunPodSandboxValidation(t *testing.T) {
	h := newHarness(t)
	noMeta := sandboxConfig("a")
	noMeta.Metadata = nil
	noName := sandboxConfig("a")
	noName.Metadata.Name = ""
	noNS := sandboxConfig("a")
	noNS.Metadata.Namespace = ""
	noUID := sandboxConfig("a")
	noUID.Metadata.Uid = ""
	underscore := sandboxConfig("a_b")
	badPort := sandboxConfig("a")
	badPort.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 70000}}
	nilPort := sandboxConfig("a")
	nilPort.PortMappings = []*runtimeapi.PortMapping{nil}
	for name, cfg := range map[string]*runtimeapi.PodSandboxConfig{
		"nil config": nil, "nil metadata": noMeta, "empty name": noName, "empty namespace": noNS,
		"empty uid": noUID, "underscore": underscore, "bad port": badPort, "nil port": nilPort,
	} {
		_, err := h.rt().RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if code(err) != codes.InvalidArgument {
			t.Errorf("%s: got %v (%v), want InvalidArgument", name, code(err), err)
		}
	}
	if n := len(h.fake.ContainerIDs()); n != 0 {
		t.Errorf("invalid requests created %d containers", n)
	}
}

func TestSandboxLifecycleAndRoundTrip(t *testing.T) {
	h := newHarness(t)
	id := h.runSandbox("web")
	cfg := sandboxConfig("web")

	st, err := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id[:12]})
	if err != nil {
		t.Fatal(err)
	}
	s := st.Status
	if s.Id != id || s.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("status id/state = %s/%v", s.Id, s.State)
	}
	if !maps.Equal(s.Labels, cfg.Labels) || !maps.Equal(s.Annotations, cfg.Annotations) {
		t.Errorf("labels/annotations did not round-trip: %v %v", s.Labels, s.Annotations)
	}
	m := s.Metadata
	if m.Name != "web" || m.Namespace != "dltcri-ns" || m.Uid != "web-uid" || m.Attempt != 1 {
		t.Errorf("metadata = %v", m)
	}
	if s.CreatedAt == 0 {
		t.Error("CreatedAt is 0")
	}

	// The Docker container carries the managed labels and the k8s name.
	c, err := h.fake.InspectContainer(h.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.Labels[naming.LabelManaged] != "true" || c.Config.Labels[naming.LabelType] != naming.TypeSandbox {
		t.Errorf("labels = %v", c.Config.Labels)
	}
	if want := "k8s_POD_web_dltcri-ns_web-uid_1"; strings.TrimPrefix(c.Name, "/") != want {
		t.Errorf("name = %s, want %s", c.Name, want)
	}
	if c.HostConfig.IpcMode != "shareable" || c.Config.Hostname != "web" {
		t.Errorf("ipc=%s hostname=%s", c.HostConfig.IpcMode, c.Config.Hostname)
	}

	// Stop: NOTREADY; twice is fine.
	for i := 0; i < 2; i++ {
		if _, err := h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Fatalf("stop %d: %v", i, err)
		}
	}
	st, err = h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil || st.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("after stop: %v %v", st, err)
	}
	// Remove twice, then status is NotFound and the checkpoint is gone.
	for i := 0; i < 2; i++ {
		if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Fatalf("remove %d: %v", i, err)
		}
	}
	_, err = h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if code(err) != codes.NotFound {
		t.Errorf("status after remove: %v, want NotFound", err)
	}
	if cp, _ := h.svc.ckpt.Load(id); cp != nil {
		t.Error("checkpoint survived RemovePodSandbox")
	}
}

func TestStopRemoveUnknownSandboxIsSuccess(t *testing.T) {
	h := newHarness(t)
	unknown := strings.Repeat("ab", 32)
	if _, err := h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: unknown}); err != nil {
		t.Errorf("stop unknown: %v", err)
	}
	if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: "nope"}); err != nil {
		t.Errorf("remove unknown: %v", err)
	}
	if _, err := h.rt().StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{}); code(err) != codes.InvalidArgument {
		t.Errorf("stop with empty id: %v, want InvalidArgument", err)
	}
}

func TestRunPodSandboxRollsBack(t *testing.T) {
	for _, op := range []string{"StartContainer", "InspectContainer"} {
		t.Run(op, func(t *testing.T) {
			h := newHarness(t)
			// Persistent: the cache's own refresh after a write meets the
			// failure first, and then the handler's read.
			h.fake.InjectPersistentError(op, errors.New("boom"))
			_, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("rb")})
			h.fake.ClearError(op)
			if err == nil {
				t.Fatal("RunPodSandbox succeeded despite the injected failure")
			}
			if ids := h.fake.ContainerIDs(); len(ids) != 0 {
				t.Errorf("rollback left containers: %v", ids)
			}
			list, _ := h.svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{})
			if len(list.Items) != 0 {
				t.Errorf("ghost sandboxes: %v", list.Items)
			}
			// A retry with the same metadata works (the name is free).
			h.runSandbox("rb")
		})
	}
}

func TestRunPodSandboxNameConflict(t *testing.T) {
	h := newHarness(t)
	id := h.runSandbox("dup")
	// A live sandbox with the same name: AlreadyExists.
	_, err := h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("dup")})
	if code(err) != codes.AlreadyExists {
		t.Fatalf("second run: %v, want AlreadyExists", err)
	}
	// A dead one is replaced.
	if _, err := h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	id2 := h.runSandbox("dup")
	if id2 == id {
		t.Fatal("got the old sandbox back")
	}
	if _, err := h.fake.InspectContainer(h.ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("dead leftover not removed: %v", err)
	}
	// A foreign container holding a sandbox name is never touched.
	foreign, err := h.fake.CreateContainer(h.ctx, engine.CreateSpec{
		Name:       h.svc.namer.BuildSandbox("taken", "dltcri-ns", "taken-uid", 1),
		Config:     &container.Config{Image: testImage},
		HostConfig: &container.HostConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("taken")})
	if code(err) != codes.AlreadyExists {
		t.Errorf("run over a foreign name: %v, want AlreadyExists", err)
	}
	if _, err := h.fake.InspectContainer(h.ctx, foreign); err != nil {
		t.Errorf("foreign container was touched: %v", err)
	}
}

func TestListPodSandboxFilters(t *testing.T) {
	h := newHarness(t)
	a := h.runSandbox("aaa")
	b := h.runSandbox("bbb")
	if _, err := h.svc.StopPodSandbox(h.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: b}); err != nil {
		t.Fatal(err)
	}
	ready := &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}
	for name, tc := range map[string]struct {
		f    *runtimeapi.PodSandboxFilter
		want []string
	}{
		"none":          {nil, []string{a, b}},
		"id":            {&runtimeapi.PodSandboxFilter{Id: a}, []string{a}},
		"id prefix":     {&runtimeapi.PodSandboxFilter{Id: b[:8]}, []string{b}},
		"state":         {&runtimeapi.PodSandboxFilter{State: ready}, []string{a}},
		"label":         {&runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "bbb"}}, []string{b}},
		"label both":    {&runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"tier": "test"}}, []string{a, b}},
		"label no":      {&runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "zzz"}}, nil},
		"label + state": {&runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "bbb"}, State: ready}, nil},
	} {
		resp, err := h.svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{Filter: tc.f})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, it := range resp.Items {
			got = append(got, it.Id)
		}
		if !sameSet(got, tc.want) {
			t.Errorf("%s: got %v, want %v", name, got, tc.want)
		}
	}
}

func TestManagedOnly(t *testing.T) {
	h := newHarness(t)
	// A user's container named like ours but without the managed label.
	foreign, err := h.fake.CreateContainer(h.ctx, engine.CreateSpec{
		Name:       "k8s_POD_user_default_uid_0",
		Config:     &container.Config{Image: testImage, Labels: map[string]string{naming.LabelType: naming.TypeSandbox}},
		HostConfig: &container.HostConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := h.svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("listed foreign containers: %v %v", list, err)
	}
	for _, id := range []string{foreign, foreign[:12]} {
		if _, err := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id}); code(err) != codes.NotFound {
			t.Errorf("status of foreign %s: %v", id, err)
		}
		if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Errorf("remove foreign %s: %v", id, err)
		}
		if _, err := h.svc.RemoveContainer(h.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Errorf("remove foreign container %s: %v", id, err)
		}
	}
	if _, err := h.fake.InspectContainer(h.ctx, foreign); err != nil {
		t.Errorf("foreign container was removed: %v", err)
	}
}

func TestAmbiguousPrefixRejected(t *testing.T) {
	h := newHarness(t)
	// Fake ids are random hex: with enough sandboxes two share a first digit.
	byFirst := map[byte][]string{}
	for i := 0; i < 20; i++ {
		id := h.runSandbox("p" + string(rune('a'+i)))
		byFirst[id[0]] = append(byFirst[id[0]], id)
	}
	for first, group := range byFirst {
		if len(group) < 2 {
			continue
		}
		_, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: string(first)})
		if code(err) != codes.InvalidArgument {
			t.Fatalf("ambiguous prefix: %v, want InvalidArgument", err)
		}
		for _, id := range group {
			if _, err := h.fake.InspectContainer(h.ctx, id); err != nil {
				t.Errorf("ambiguous remove touched %s: %v", id, err)
			}
		}
		return
	}
	t.Skip("no two ids share a first digit")
}

func TestRestartSeesEverything(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("keep")
	ctr := h.createContainer(sb, "app")
	if _, err := h.svc.StartContainer(h.ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr}); err != nil {
		t.Fatal(err)
	}
	before, _ := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
	cbefore, _ := h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})

	h.svc = h.restart()
	after, err := h.svc.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
	if err != nil {
		t.Fatal(err)
	}
	if after.Status.String() != before.Status.String() {
		t.Errorf("sandbox status changed over a restart:\n%v\n%v", before.Status, after.Status)
	}
	cafter, err := h.svc.ContainerStatus(h.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
	if err != nil {
		t.Fatal(err)
	}
	if cafter.Status.String() != cbefore.Status.String() {
		t.Errorf("container status changed over a restart:\n%v\n%v", cbefore.Status, cafter.Status)
	}
	if cp, err := h.svc.ckpt.Load(sb); err != nil || cp == nil || cp.Pod.Name != "keep" {
		t.Errorf("checkpoint after restart: %v %v", cp, err)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestServersSharingAnEngineSeeOnlyTheirOwn(t *testing.T) {
	h := newHarness(t)
	mine := h.runSandbox("mine")
	other := h.node(TestNode{RootDir: t.TempDir()})
	h.cache = nil // the other's
	theirs, err := other.RunPodSandbox(h.ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("theirs")})
	if err != nil {
		t.Fatal(err)
	}
	list, err := h.svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Id != mine {
		t.Fatalf("list: %v %v, want only %s", list, err, mine)
	}
	if _, err := h.svc.RemovePodSandbox(h.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: theirs.PodSandboxId}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.PodSandboxStatus(h.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: theirs.PodSandboxId}); err != nil {
		t.Errorf("another server removed its sandbox: %v", err)
	}
}
