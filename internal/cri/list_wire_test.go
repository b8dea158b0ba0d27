package cri

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/moby/moby/api/types/image"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/fake"
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

// BenchmarkListMarshal: encoding a 110-sandbox ListPodSandbox response, the
// ordinary way and from the stored encodings.
func BenchmarkListMarshal(b *testing.B) {
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{DefaultPodInfraImage}})
	svc, _, _ := NewTestNode(b, TestNode{Engine: f, RootDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler), Stats: stubStats{}})
	for i := range 110 {
		cfg := sandboxConfig(fmt.Sprintf("pod-%03d", i))
		if _, err := svc.RunPodSandbox(context.Background(), &runtimeapi.RunPodSandboxRequest{Config: cfg}); err != nil {
			b.Fatal(err)
		}
	}
	resp, err := svc.ListPodSandbox(context.Background(), &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(resp.Items) != 110 {
		b.Fatal(len(resp.GetItems()), err)
	}
	codec := newRequestCodec()
	b.Run("ordinary", func(b *testing.B) {
		for b.Loop() {
			if _, err := codec.base.Marshal(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stored", func(b *testing.B) {
		for b.Loop() {
			if _, err := codec.Marshal(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
