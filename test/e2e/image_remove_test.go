package e2e

import (
	"context"
	"testing"

	"github.com/moby/moby/api/types/container"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// The kubelet's image GC removes images by id. An image with two tags
// that a stopped container of the user's (not dockerlet's) uses must
// survive that: Docker refuses such a removal unless forced, and forced it
// deletes the image from under the container.
func TestRemoveImageByIDKeepsUsersImage(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		t.Fatal(err)
	}
	tag1, tag2 := prefix+"/users-image:one", prefix+"/users-image:two"
	for _, tag := range []string{tag1, tag2} {
		if err := e.eng.TagImage(ctx, e.busybox, tag); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = e.eng.RemoveImage(context.Background(), tag, engine.ImageRemoveOptions{}) })
	}
	img, err := e.eng.InspectImageByRef(ctx, tag1)
	if err != nil {
		t.Fatal(err)
	}
	// e.busybox names the image too: three names in all.
	id, err := e.eng.CreateContainer(ctx, engine.CreateSpec{Name: "dlhd-users-container", Config: &container.Config{Image: tag1, Cmd: []string{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.eng.RemoveContainer(context.Background(), id, engine.RemoveOptions{Force: true})
	})

	_, err = e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: img.ID}})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("RemoveImage by id of the user's image: %v, want FailedPrecondition", err)
	}
	after, err := e.eng.InspectImageByID(ctx, img.ID)
	if err != nil {
		t.Fatalf("the user's image is gone: %v", err)
	}
	if len(after.RepoTags) != len(img.RepoTags) {
		t.Errorf("the user's image lost names: %v, had %v", after.RepoTags, img.RepoTags)
	}

	// Once the container is gone, the image goes with all its names.
	if err := e.eng.RemoveContainer(ctx, id, engine.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: img.ID}}); err != nil {
		t.Fatalf("RemoveImage by id of an unused image: %v", err)
	}
	if _, err := e.eng.InspectImageByID(ctx, img.ID); err == nil {
		t.Error("the unused image is still there")
	}
}
