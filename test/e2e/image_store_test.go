package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// TestImageStoreOnEngine holds the image RPCs to what the engine's image
// store reports, for a multi-platform image (an index of linux/amd64 and
// linux/arm64) on either store: Docker's graph driver (the image id is the
// platform's config digest) or its containerd image store (the id is the
// index digest). Whatever the id, every RPC names the same one; the repo
// digest is the index's; sizes are real; ImageFsInfo names the store's
// directory; RemoveImage works by tag and by id.
func TestImageStoreOnEngine(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	reg := testutil.StartRegistry(t)
	ref, indexDigest := reg.PushMultiPlatform(t, prefix+"/multi:1", testutil.ImageOptions{Marker: prefix + "-multi"})
	repo := strings.TrimSuffix(ref, ":1")
	info, err := e.eng.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap := engine.Snapshotter(info)
	t.Logf("storage %s (containerd snapshotter: %q)", info.Driver, snap)

	pull := func() string {
		t.Helper()
		r, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		if err != nil {
			t.Fatalf("PullImage %s: %v", ref, err)
		}
		return r.ImageRef
	}
	status := func(spec string) *runtimeapi.Image {
		t.Helper()
		r, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: spec}})
		if err != nil {
			t.Fatalf("ImageStatus %s: %v", spec, err)
		}
		return r.Image
	}
	id := pull()
	t.Cleanup(func() {
		_, _ = e.img.RemoveImage(context.Background(), &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	})
	if snap != "" && id != indexDigest {
		t.Errorf("containerd image store: image id %s, want the index digest %s", id, indexDigest)
	}
	img := status(ref)
	if img == nil || img.Id != id {
		t.Fatalf("ImageStatus %s = %v, want id %s", ref, img, id)
	}
	if !slices.Contains(img.RepoTags, ref) {
		t.Errorf("repo tags %v, want %s", img.RepoTags, ref)
	}
	if !slices.Contains(img.RepoDigests, repo+"@"+indexDigest) {
		t.Errorf("repo digests %v, want %s@%s (the index pulled)", img.RepoDigests, repo, indexDigest)
	}
	if img.GetSize() == 0 {
		t.Errorf("image size 0")
	}
	for _, spec := range []string{id, repo + "@" + indexDigest} {
		if got := status(spec); got == nil || got.Id != id {
			t.Errorf("ImageStatus %s = %v, want id %s", spec, got, id)
		}
	}
	list, err := e.img.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, li := range list.Images {
		if li.Id == id {
			found = true
			if li.GetSize() == 0 || !slices.Contains(li.RepoTags, ref) {
				t.Errorf("ListImages entry %v: want a size and the tag %s", li, ref)
			}
		}
	}
	if !found {
		t.Errorf("ListImages lacks %s", id)
	}

	// A container of it names the same id, and the index digest as ref.
	cfg := e.wirePod("store")
	sb := e.runPod(ctx, cfg)
	c, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, SandboxConfig: cfg,
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "store"},
			Image: &runtimeapi.ImageSpec{Image: ref}, Command: []string{"sleep", "3600"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.start1(ctx, c.ContainerId)
	st, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.ContainerId})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.ImageId != id || st.Status.ImageRef != repo+"@"+indexDigest {
		t.Errorf("container image_id %s image_ref %s, want %s and %s@%s", st.Status.ImageId, st.Status.ImageRef, id, repo, indexDigest)
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}

	fs, err := e.img.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantFS := info.DockerRootDir
	if snap != "" {
		wantFS = engine.SnapshotterDir(info.DockerRootDir, snap)
	}
	if got := fs.ImageFilesystems[0].GetFsId().GetMountpoint(); got != wantFS && got != filepath.Join(wantFS, info.Driver) {
		t.Errorf("ImageFsInfo mountpoint %s, want the store's directory %s", got, wantFS)
	}

	// RemoveImage by tag, then (pulled again) by id: gone either way.
	for _, spec := range []string{ref, ""} {
		if spec == "" {
			spec = pull()
		}
		if _, err := e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: spec}}); err != nil {
			t.Fatalf("RemoveImage %s: %v", spec, err)
		}
		for _, s := range []string{ref, id} {
			if got := status(s); got != nil {
				t.Errorf("after RemoveImage %s: ImageStatus %s = %v", spec, s, got)
			}
		}
	}
}
