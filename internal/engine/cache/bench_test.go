package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// benchPods is the node size of the bar: 110 pods, a sandbox and
// one container each.
const benchPods = 110

// kubeletList is the kubelet's relist of containers as the CRI server
// turns it into an engine call.
var kubeletList = engine.ListOptions{All: true, Labels: []string{naming.ManagedLabelFilter, naming.LabelType + "=" + naming.TypeContainer}}

// podSpecs returns create specs for n pods (sandbox + container) in the
// shape dockerlet gives them: labels, a command, a host config.
func podSpecs(img string, n int, label string) []engine.CreateSpec {
	var specs []engine.CreateSpec
	for i := range n {
		uid := fmt.Sprintf("dltcache-uid-%03d", i)
		for _, typ := range []string{naming.TypeSandbox, naming.TypeContainer} {
			name := "POD"
			if typ == naming.TypeContainer {
				name = "app"
			}
			labels := map[string]string{
				naming.LabelManaged: "true", naming.LabelType: typ, naming.LabelSandboxID: uid,
				"io.kubernetes.pod.name": fmt.Sprintf("pod-%03d", i), "io.kubernetes.pod.namespace": "default",
				"io.kubernetes.pod.uid": uid, "io.dockerlet.log-path": "/var/log/pods/" + uid + "/app/0.log",
			}
			if label != "" {
				labels[label] = "true"
			}
			specs = append(specs, engine.CreateSpec{
				Name: fmt.Sprintf("dltcache_%s_pod-%03d_default_%s_0", name, i, uid),
				Config: &container.Config{
					Image: img, Cmd: []string{"sleep", "3600"}, Labels: labels,
					Env: []string{"PATH=/bin", "KUBERNETES_SERVICE_HOST=10.0.0.1"},
				},
				HostConfig: &container.HostConfig{NetworkMode: "none", Resources: container.Resources{CPUShares: 2, Memory: 64 << 20}},
			})
		}
	}
	return specs
}

func benchFakeNode(b *testing.B) (*fake.Fake, *Cache, string) {
	b.Helper()
	ctx := context.Background()
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	var last string
	for _, spec := range podSpecs("busybox", benchPods, "") {
		id, err := f.CreateContainer(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.StartContainer(ctx, id); err != nil {
			b.Fatal(err)
		}
		last = id
	}
	c, err := New(ctx, f, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if !c.Synced() {
		b.Fatal("cache not synced")
	}
	return f, c, last
}

// BenchmarkListContainers: the kubelet's relist at 110 pods, from the cache
// and from the in-memory fake (which, like Docker, builds every record).
func BenchmarkListContainers(b *testing.B) {
	f, c, _ := benchFakeNode(b)
	ctx := context.Background()
	for _, eng := range []struct {
		name string
		e    engine.Engine
	}{{"cache", c}, {"fake", f}} {
		b.Run(eng.name, func(b *testing.B) {
			b.ReportAllocs()
			measureCPU(b, false, func() {
				for b.Loop() {
					list, err := eng.e.ListContainers(ctx, kubeletList)
					if err != nil || len(list) != benchPods {
						b.Fatalf("%d, %v", len(list), err)
					}
				}
			})
		})
	}
}

// BenchmarkInspectContainer: ContainerStatus's engine call.
func BenchmarkInspectContainer(b *testing.B) {
	f, c, id := benchFakeNode(b)
	ctx := context.Background()
	for _, eng := range []struct {
		name string
		e    engine.Engine
	}{{"cache", c}, {"fake", f}} {
		b.Run(eng.name, func(b *testing.B) {
			b.ReportAllocs()
			measureCPU(b, false, func() {
				for b.Loop() {
					if _, err := eng.e.InspectContainer(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkCopyInspect: the price of returning a private copy of a cached
// record (deepCopy) against a JSON round trip.
func BenchmarkCopyInspect(b *testing.B) {
	_, c, id := benchFakeNode(b)
	c.mu.RLock()
	in := c.entries[id].inspect
	c.mu.RUnlock()
	b.Run("deepcopy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = deepCopy(*in)
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out container.InspectResponse
			data, _ := json.Marshal(in)
			if err := json.Unmarshal(data, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
