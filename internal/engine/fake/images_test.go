package fake

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/registry"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func TestImages(t *testing.T) {
	ctx := context.Background()
	f := New()
	id := f.AddImage(image.InspectResponse{
		RepoTags:    []string{"docker.io/library/busybox:latest", "127.0.0.1:5001/busybox:1"},
		RepoDigests: []string{"busybox@sha256:" + strings.Repeat("a", 64)},
	})
	for _, ref := range []string{
		"busybox", "busybox:latest", "docker.io/library/busybox", "127.0.0.1:5001/busybox:1",
		"busybox@sha256:" + strings.Repeat("a", 64), id, strings.TrimPrefix(id, "sha256:")[:12],
	} {
		got, err := f.InspectImageByRef(ctx, ref)
		if err != nil || got.ID != id {
			t.Errorf("by ref %q: %v", ref, err)
		}
	}
	for _, ref := range []string{"busybox:2", "127.0.0.1:5001/busybox", "other", "busybox@sha256:" + strings.Repeat("b", 64)} {
		if _, err := f.InspectImageByRef(ctx, ref); !errdefs.IsNotFound(err) {
			t.Errorf("by ref %q: %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := f.InspectImageByID(ctx, strings.TrimPrefix(id, "sha256:")); err != nil {
		t.Errorf("by full hex ID: %v", err)
	}
	if _, err := f.InspectImageByID(ctx, id[:20]); !errdefs.IsNotFound(err) {
		t.Errorf("by ID prefix: %v, want ErrNotFound", err)
	}
	got, _ := f.InspectImageByRef(ctx, "busybox")
	if got.RepoTags[0] != "busybox:latest" {
		t.Errorf("tags stored as %v, want familiar form", got.RepoTags)
	}

	list, err := f.ListImages(ctx, engine.ImageListOptions{Reference: "busybox"})
	if err != nil || len(list) != 1 {
		t.Fatalf("list busybox: %v %v", list, err)
	}
	list, _ = f.ListImages(ctx, engine.ImageListOptions{Reference: "busybox:9"})
	if len(list) != 0 {
		t.Fatalf("list busybox:9: %v", list)
	}

	if err := f.TagImage(ctx, "busybox", "mine:v1"); err != nil {
		t.Fatal(err)
	}
	res, err := f.RemoveImage(ctx, "mine:v1", engine.ImageRemoveOptions{})
	if err != nil || len(res) != 1 || res[0].Untagged != "mine:v1" {
		t.Fatalf("untag: %v %v", res, err)
	}
	if _, err := f.RemoveImage(ctx, id, engine.ImageRemoveOptions{}); !errdefs.IsConflict(err) {
		t.Fatalf("remove multi-tagged by ID: %v, want ErrConflict", err)
	}
	h, err := f.ImageHistory(ctx, id)
	if err != nil || len(h) != 1 || h[0].ID != id {
		t.Fatalf("history: %v %v", h, err)
	}
	res, err = f.RemoveImage(ctx, id, engine.ImageRemoveOptions{Force: true})
	if err != nil || res[len(res)-1].Deleted != id {
		t.Fatalf("force remove: %v %v", res, err)
	}
	if _, err := f.InspectImageByRef(ctx, "busybox"); !errdefs.IsNotFound(err) {
		t.Fatalf("after remove: %v", err)
	}
}

func TestRemoveImageInUse(t *testing.T) {
	ctx := context.Background()
	f, id := newWithImage(t)
	c := create(t, f, "c_c", nil)
	if err := f.StartContainer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.RemoveImage(ctx, "busybox", engine.ImageRemoveOptions{Force: true}); !errdefs.IsConflict(err) {
		t.Fatalf("remove image of running container: %v", err)
	}
	_ = f.StopContainer(ctx, c, 0)
	if _, err := f.RemoveImage(ctx, id, engine.ImageRemoveOptions{}); !errdefs.IsConflict(err) {
		t.Fatalf("remove image of stopped container without force: %v", err)
	}
	if _, err := f.RemoveImage(ctx, id, engine.ImageRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
}

func TestTagMoves(t *testing.T) {
	ctx := context.Background()
	f := New()
	old := f.AddImage(image.InspectResponse{ID: "sha256:" + strings.Repeat("1", 64), RepoTags: []string{"app:v1"}})
	nw := f.AddImage(image.InspectResponse{ID: "sha256:" + strings.Repeat("2", 64), RepoTags: []string{"app:v1"}})
	got, err := f.InspectImageByRef(ctx, "app:v1")
	if err != nil || got.ID != nw {
		t.Fatalf("app:v1 → %v %v, want the newer image", got, err)
	}
	o, _ := f.InspectImageByID(ctx, old)
	if len(o.RepoTags) != 0 {
		t.Fatalf("old image kept tags %v", o.RepoTags)
	}
}

func TestPull(t *testing.T) {
	ctx := context.Background()
	f := New()
	if err := f.PullImage(ctx, "busybox", engine.PullOptions{}); !errdefs.IsNotFound(err) {
		t.Fatalf("pull of unknown: %v", err)
	}
	if err := f.AllowPull("127.0.0.1:5001/busybox:1", nil); err != nil {
		t.Fatal(err)
	}
	if err := f.RequirePullAuth("127.0.0.1:5001/busybox", "u", "p"); err != nil {
		t.Fatal(err)
	}
	if err := f.PullImage(ctx, "127.0.0.1:5001/busybox:1", engine.PullOptions{Auth: &registry.AuthConfig{Username: "u", Password: "bad"}}); !errdefs.IsUnauthorized(err) {
		t.Fatalf("wrong password: %v", err)
	}
	var progress []engine.Progress
	err := f.PullImage(ctx, "127.0.0.1:5001/busybox:1", engine.PullOptions{
		Auth:     &registry.AuthConfig{Username: "u", Password: "p"},
		Progress: func(p engine.Progress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || progress[0].Image != "127.0.0.1:5001/busybox:1" {
		t.Fatalf("progress %+v", progress)
	}
	if _, err := f.InspectImageByRef(ctx, "127.0.0.1:5001/busybox:1"); err != nil {
		t.Fatalf("pulled image absent: %v", err)
	}
	dig := "busybox@sha256:" + strings.Repeat("c", 64)
	if err := f.AllowPull(dig, &image.InspectResponse{ID: "sha256:" + strings.Repeat("d", 64)}); err != nil {
		t.Fatal(err)
	}
	if err := f.PullImage(ctx, dig, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.InspectImageByRef(ctx, dig); err != nil || got.RepoDigests[0] != dig {
		t.Fatalf("by digest: %+v %v", got, err)
	}
	if err := f.PullImage(ctx, "UPPER", engine.PullOptions{}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad ref: %v", err)
	}
}
