package engine_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

func TestIntegrationVersionAndInfo(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	ctx := testCtx(t)
	v, err := c.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("engine %s, server API %s, negotiated %s", v.Version, v.ServerAPI, v.APIVersion)
	if v.Version == "" || v.ServerAPI == "" {
		t.Fatalf("empty version: %+v", v)
	}
	// Negotiation settles on the lower of the daemon's and the client's API.
	want := v.ServerAPI
	if versionLess(client.MaxAPIVersion, want) {
		want = client.MaxAPIVersion
	}
	if v.APIVersion != want {
		t.Fatalf("negotiated API %s, want %s", v.APIVersion, want)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID == "" || info.Driver == "" {
		t.Fatalf("info lacks ID or driver: %+v", info)
	}
}

// versionLess compares "1.41"-style versions.
func versionLess(a, b string) bool {
	var amaj, amin, bmaj, bmin int
	_, _ = fmt.Sscanf(a, "%d.%d", &amaj, &amin)
	_, _ = fmt.Sscanf(b, "%d.%d", &bmaj, &bmin)
	return amaj < bmaj || amaj == bmaj && amin < bmin
}

func TestIntegrationImages(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	ctx := testCtx(t)
	reg := testutil.StartRegistry(t)
	ref := reg.PushBusybox(t, prefix+"/img:1", testutil.ImageOptions{Marker: prefix + "-images"})
	removeImageAtEnd(t, c, ref)

	var progress []engine.Progress
	if err := c.PullImage(ctx, ref, engine.PullOptions{Progress: func(p engine.Progress) { progress = append(progress, p) }}); err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 {
		t.Fatal("pull reported no progress")
	}
	if !slices.ContainsFunc(progress, func(p engine.Progress) bool {
		return strings.Contains(p.Status, "Downloaded newer image") || strings.Contains(p.Status, "Image is up to date")
	}) {
		t.Errorf("no final status among %d progress reports", len(progress))
	}

	img, err := c.InspectImageByRef(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(img.ID, "sha256:") || !slices.Contains(img.RepoTags, ref) || len(img.RepoDigests) == 0 {
		t.Fatalf("inspect by ref: ID %s tags %v digests %v", img.ID, img.RepoTags, img.RepoDigests)
	}
	for _, id := range []string{img.ID, strings.TrimPrefix(img.ID, "sha256:")} {
		if got, err := c.InspectImageByID(ctx, id); err != nil || got.ID != img.ID {
			t.Errorf("inspect by ID %s: %v", id, err)
		}
	}
	if _, err := c.InspectImageByID(ctx, ref); !errdefs.IsNotFound(err) {
		t.Errorf("inspect by ID with a tag: %v, want errdefs.ErrNotFound", err)
	}
	if got, err := c.InspectImageByRef(ctx, img.RepoDigests[0]); err != nil || got.ID != img.ID {
		t.Errorf("inspect by digest %s: %v", img.RepoDigests[0], err)
	}
	if _, err := c.InspectImageByRef(ctx, reg.Ref(prefix+"/absent:1")); !errdefs.IsNotFound(err) {
		t.Errorf("inspect absent: %v, want errdefs.ErrNotFound", err)
	}

	list, err := c.ListImages(ctx, engine.ImageListOptions{Reference: reg.Host + "/" + prefix + "/img"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != img.ID {
		t.Fatalf("list by reference: %+v", list)
	}

	target := reg.Ref(prefix + "/img:tagged")
	if err := c.TagImage(ctx, ref, target); err != nil {
		t.Fatal(err)
	}
	removeImageAtEnd(t, c, target)
	if got, err := c.InspectImageByRef(ctx, target); err != nil || got.ID != img.ID {
		t.Fatalf("tagged image: %v", err)
	}
	// "UPPER/case" would be a valid name on a registry host "UPPER" (Docker
	// 29 tags it; 20.10 refused it): an upper-case path is invalid on both.
	for _, bad := range []string{"lower/UPPER", "bad target!"} {
		if err := c.TagImage(ctx, ref, bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("bad tag target %q: %v, want errdefs.ErrInvalidArgument", bad, err)
		}
	}

	hist, err := c.ImageHistory(ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) == 0 || hist[0].ID != img.ID {
		t.Fatalf("history: %+v", hist)
	}

	// Two tags: removing one only untags; removing the ID without force is
	// a conflict; with force it deletes.
	res, err := c.RemoveImage(ctx, target, engine.ImageRemoveOptions{})
	if err != nil || len(res) != 1 || res[0].Untagged != target {
		t.Fatalf("untag: %+v %v", res, err)
	}
	if err := c.TagImage(ctx, ref, target); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveImage(ctx, img.ID, engine.ImageRemoveOptions{}); !errdefs.IsConflict(err) {
		t.Fatalf("remove multi-tagged ID without force: %v, want errdefs.ErrConflict", err)
	}
	res, err = c.RemoveImage(ctx, img.ID, engine.ImageRemoveOptions{Force: true})
	if err != nil || !slices.ContainsFunc(res, func(d image.DeleteResponse) bool { return d.Deleted == img.ID }) {
		t.Fatalf("force remove: %+v %v", res, err)
	}
	if _, err := c.InspectImageByID(ctx, img.ID); !errdefs.IsNotFound(err) {
		t.Fatalf("after remove: %v", err)
	}
	if _, err := c.RemoveImage(ctx, img.ID, engine.ImageRemoveOptions{}); !errdefs.IsNotFound(err) {
		t.Fatalf("remove twice: %v, want errdefs.ErrNotFound", err)
	}
}

// TestIntegrationEnvironment connects through Docker's environment with a
// pinned API version: no negotiation, the pinned version is spoken.
func TestIntegrationEnvironment(t *testing.T) {
	testutil.RequireDocker(t)
	t.Setenv("DOCKER_HOST", testutil.DockerHost())
	t.Setenv("DOCKER_API_VERSION", "1.40")
	c, err := engine.Connect("", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.Version(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if v.APIVersion != "1.40" {
		t.Fatalf("API version %s, want the pinned 1.40", v.APIVersion)
	}
}
