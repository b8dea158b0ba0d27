package cri

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// TestListedWireEncoding: List responses of the cache's items are encoded
// from the items' stored encodings, and decode to the same responses as
// the ordinary encoding; a response with an item made elsewhere takes the
// ordinary path.
func TestListedWireEncoding(t *testing.T) {
	h := newHarness(t)
	svc := h.svc
	for _, name := range []string{"a", "b", "c"} {
		sb := h.runSandbox(name)
		if _, err := svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{
			PodSandboxId: sb, Config: containerConfig(name), SandboxConfig: sandboxConfig(name),
		}); err != nil {
			t.Fatal(err)
		}
	}
	sbs, err := svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := svc.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sbs.Items) != 3 || len(cs.Containers) != 3 {
		t.Fatalf("listed %d sandboxes, %d containers; want 3 each", len(sbs.Items), len(cs.Containers))
	}
	codec := newRequestCodec()
	for _, tc := range []struct {
		resp, empty proto.Message
	}{
		{sbs, &runtimeapi.ListPodSandboxResponse{}},
		{cs, &runtimeapi.ListContainersResponse{}},
	} {
		if _, ok := marshalListed(tc.resp); !ok {
			t.Fatalf("%T: not encoded from the stored encodings", tc.resp)
		}
		b, err := codec.Marshal(tc.resp)
		if err != nil {
			t.Fatal(err)
		}
		got := tc.empty
		if err := proto.Unmarshal(b.Materialize(), got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, tc.resp) {
			t.Errorf("%T: decodes to\n%v\nwant\n%v", tc.resp, got, tc.resp)
		}
	}
	// An item that is not a cached derivation (a copy, say): ordinary path.
	mixed := &runtimeapi.ListPodSandboxResponse{Items: append(sbs.Items[:2:2], proto.Clone(sbs.Items[2]).(*runtimeapi.PodSandbox))}
	if _, ok := marshalListed(mixed); ok {
		t.Fatal("a response with an item without a stored encoding took the fast path")
	}
	b, err := codec.Marshal(mixed)
	if err != nil {
		t.Fatal(err)
	}
	var got runtimeapi.ListPodSandboxResponse
	if err := proto.Unmarshal(b.Materialize(), &got); err != nil || !proto.Equal(&got, mixed) {
		t.Fatalf("ordinary path: %v, %v", err, &got)
	}
}

// The fast encoder writes one field of a List response, the repeated
// items. Should cri-api add a field to ListPodSandboxResponse or
// ListContainersResponse, the encoder would drop it: this test fails then
// (and the encoder falls back to the ordinary encoding meanwhile).
func TestListEncoderWritesEveryField(t *testing.T) {
	for _, m := range []proto.Message{&runtimeapi.ListPodSandboxResponse{}, &runtimeapi.ListContainersResponse{}} {
		md := m.ProtoReflect().Descriptor()
		if !encodable(md) {
			t.Errorf("%s has fields the List fast path does not write (%v): encode them in appendRepeated, or drop the fast path",
				md.FullName(), fieldNames(md))
		}
		// The same message with one more field is refused.
		grown := withExtraField(t, md)
		if encodable(grown) {
			t.Errorf("%s with a field added still counts as encodable", md.FullName())
		}
	}
	if !sandboxesEncodable || !containersEncodable {
		t.Error("the fast encoder is off for a List response")
	}
}

func fieldNames(md protoreflect.MessageDescriptor) []string {
	var out []string
	for i := range md.Fields().Len() {
		f := md.Fields().Get(i)
		out = append(out, fmt.Sprintf("%d:%s", f.Number(), f.Name()))
	}
	return out
}

// withExtraField rebuilds md's file with a string field 99 added to md.
func withExtraField(t *testing.T, md protoreflect.MessageDescriptor) protoreflect.MessageDescriptor {
	t.Helper()
	fdp := protodesc.ToFileDescriptorProto(md.ParentFile())
	fdp.Name = proto.String("grown/" + fdp.GetName())
	fdp.Package = proto.String("grown." + fdp.GetPackage())
	for _, m := range fdp.MessageType {
		if m.GetName() == string(md.Name()) {
			m.Field = append(m.Field, &descriptorpb.FieldDescriptorProto{
				Name: proto.String("added"), JsonName: proto.String("added"), Number: proto.Int32(99),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
			})
		}
	}
	// The file's own references name its package: follow the rename.
	old, grown := "."+md.ParentFile().Package(), ".grown."+md.ParentFile().Package()
	for _, m := range fdp.MessageType {
		renameTypes(m, string(old), string(grown))
	}
	for _, s := range fdp.Service {
		for _, mt := range s.Method {
			mt.InputType = proto.String(strings.Replace(mt.GetInputType(), string(old), string(grown), 1))
			mt.OutputType = proto.String(strings.Replace(mt.GetOutputType(), string(old), string(grown), 1))
		}
	}
	f, err := protodesc.NewFile(fdp, new(protoregistry.Files))
	if err != nil {
		t.Fatal(err)
	}
	return f.Messages().ByName(md.Name())
}

func renameTypes(m *descriptorpb.DescriptorProto, old, grown string) {
	for _, f := range m.Field {
		if f.TypeName != nil {
			f.TypeName = proto.String(strings.Replace(f.GetTypeName(), old, grown, 1))
		}
	}
	for _, n := range m.NestedType {
		renameTypes(n, old, grown)
	}
}

// With the fast path off, the List RPCs answer the same, with items
// derived afresh each time and encoded the ordinary way.
func TestPlainLists(t *testing.T) {
	h := newHarness(t)
	fast := h.svc
	for _, name := range []string{"a", "b"} {
		sb := h.runSandbox(name)
		h.createContainer(sb, name)
	}
	plain := h.node(TestNode{PlainLists: true})
	for _, svc := range []*Service{fast, plain} {
		// Items are reused only while the cache answers from its own
		// records: not before its first sync, nor while an event's
		// re-inspection lags (a loaded machine), when every List asks
		// the engine. So the fast path gets a few seconds to settle; the
		// plain path must never reuse, settled or not.
		deadline := time.Now().Add(10 * time.Second)
		for {
			first, err := svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{})
			if err != nil {
				t.Fatal(err)
			}
			again, err := svc.ListPodSandbox(h.ctx, &runtimeapi.ListPodSandboxRequest{})
			if err != nil {
				t.Fatal(err)
			}
			reused := first.Items[0] == again.Items[0]
			_, encoded := marshalListed(first)
			if reused == !svc.cfg.PlainLists && encoded == !svc.cfg.PlainLists {
				break
			}
			if svc.cfg.PlainLists || time.Now().After(deadline) {
				t.Errorf("PlainLists %v: items reused %v, encoded from stored encodings %v", svc.cfg.PlainLists, reused, encoded)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	a, _ := fast.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{})
	b, _ := plain.ListContainers(h.ctx, &runtimeapi.ListContainersRequest{})
	if !proto.Equal(a, b) {
		t.Errorf("the two paths list differently:\n%v\n%v", a, b)
	}
}

// BenchmarkListFastPath is the server's part of the kubelet's relist:
// ListPodSandbox and ListContainers at 110 pods (a sandbox and one running
// container each, labelled as the kubelet labels them), the handler and
// the encoding of the response as the gRPC server encodes it, with the List
// fast path on (fast) and off (plain). docs/performance.md has the figures.
func BenchmarkListFastPath(b *testing.B) {
	for _, plain := range []bool{false, true} {
		mode := "fast"
		if plain {
			mode = "plain"
		}
		svc := relistNode(b, plain)
		codec := newRequestCodec()
		ctx := context.Background()
		b.Run("ListPodSandbox/"+mode, func(b *testing.B) {
			measureCPU(b, func() {
				for b.Loop() {
					r, err := svc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
					if err != nil || len(r.Items) != 110 {
						b.Fatal(len(r.GetItems()), err)
					}
					if _, err := codec.Marshal(r); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		b.Run("ListContainers/"+mode, func(b *testing.B) {
			measureCPU(b, func() {
				for b.Loop() {
					r, err := svc.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
					if err != nil || len(r.Containers) != 110 {
						b.Fatal(len(r.GetContainers()), err)
					}
					if _, err := codec.Marshal(r); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// measureCPU runs loop (a b.Loop) and reports the process's CPU time and
// allocations per operation.
func measureCPU(b *testing.B, loop func()) {
	b.ReportAllocs()
	before := processCPU(b)
	loop()
	if b.N > 0 {
		b.ReportMetric(float64(processCPU(b)-before)/float64(b.N), "cpu-ns/op")
	}
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// relistNode is a node over the fake with 110 pods, the List fast path on
// or off.
func relistNode(b *testing.B, plain bool) *Service {
	b.Helper()
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{DefaultPodInfraImage}})
	f.AddImage(image.InspectResponse{RepoTags: []string{testImage}})
	svc, _, _ := NewTestNode(b, TestNode{Engine: f, RootDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler), Stats: stubStats{}, PlainLists: plain})
	ctx := context.Background()
	for i := range 110 {
		uid := fmt.Sprintf("dlwr-uid-%03d", i)
		labels := map[string]string{"io.kubernetes.pod.name": fmt.Sprintf("pod-%03d", i), "io.kubernetes.pod.namespace": "default",
			"io.kubernetes.pod.uid": uid, "app": "web"}
		cfg := &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: fmt.Sprintf("pod-%03d", i), Namespace: "default", Uid: uid},
			Labels:   labels, Annotations: map[string]string{"kubernetes.io/config.source": "api", "kubernetes.io/config.seen": "2026-01-01T00:00:00Z"},
			Linux: &runtimeapi.LinuxPodSandboxConfig{},
		}
		testutil.RunPod(ctx, b, svc, cfg, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, Image: &runtimeapi.ImageSpec{Image: "busybox"},
			Command: []string{"sleep", "3600"}, Labels: labels,
			Annotations: map[string]string{"io.kubernetes.container.hash": "1a2b3c4d", "io.kubernetes.container.restartCount": "0"},
		})
	}
	return svc
}
