package cri

import (
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/registry"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/keyring"
)

type fakeKeyring []keyring.Credential

func (k fakeKeyring) Lookup(string) ([]keyring.Credential, error) { return k, nil }

func TestPullImageCredentials(t *testing.T) {
	h := newHarness(t)
	const ref = "registry.example/private/app:1"
	if err := h.fake.AllowPull(ref, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.RequirePullAuth(ref, "u", "p"); err != nil {
		t.Fatal(err)
	}
	spec := &runtimeapi.ImageSpec{Image: ref}
	// Anonymous: refused.
	_, err := h.svc.PullImage(h.ctx, &runtimeapi.PullImageRequest{Image: spec})
	if code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous pull: %v, want Unauthenticated", err)
	}
	// The request's auth.
	resp, err := h.svc.PullImage(h.ctx, &runtimeapi.PullImageRequest{Image: spec, Auth: &runtimeapi.AuthConfig{Username: "u", Password: "p"}})
	if err != nil || resp.ImageRef == "" {
		t.Fatalf("pull with auth: %v %v", resp, err)
	}
	st, err := h.svc.ImageStatus(h.ctx, &runtimeapi.ImageStatusRequest{Image: spec})
	if err != nil || st.Image == nil || st.Image.Id != resp.ImageRef {
		t.Fatalf("status after pull: %v %v", st, err)
	}
	if _, err := h.svc.RemoveImage(h.ctx, &runtimeapi.RemoveImageRequest{Image: spec}); err != nil {
		t.Fatal(err)
	}
	// The node's keyring when the request has none.
	h.svc.cfg.Keyring = fakeKeyring{{Source: "test", Auth: registry.AuthConfig{Username: "u", Password: "p"}}}
	if _, err := h.svc.PullImage(h.ctx, &runtimeapi.PullImageRequest{Image: spec}); err != nil {
		t.Fatalf("pull with the node's keyring: %v", err)
	}
}

func TestPullImageThroughMirror(t *testing.T) {
	h := newHarness(t)
	h.svc.cfg.Mirrors = map[string]string{"registry.k8s.io": "127.0.0.1:5000"}
	if err := h.fake.AllowPull("127.0.0.1:5000/e2e/app:1", nil); err != nil {
		t.Fatal(err)
	}
	spec := &runtimeapi.ImageSpec{Image: "registry.k8s.io/e2e/app:1"}
	resp, err := h.svc.PullImage(h.ctx, &runtimeapi.PullImageRequest{Image: spec})
	if err != nil {
		t.Fatalf("mirrored pull: %v", err)
	}
	st, err := h.svc.ImageStatus(h.ctx, &runtimeapi.ImageStatusRequest{Image: spec})
	if err != nil || st.Image == nil || st.Image.Id != resp.ImageRef {
		t.Fatalf("requested name after mirrored pull: %v %v", st, err)
	}
	for _, tag := range st.Image.RepoTags {
		if tag == "127.0.0.1:5000/e2e/app:1" {
			t.Errorf("the mirror's tag stayed: %v", st.Image.RepoTags)
		}
	}
	// Other registries are not mirrored.
	if _, err := h.svc.PullImage(h.ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "gcr.io/x/y:1"}}); code(err) == codes.OK {
		t.Error("pull of an unmirrored, unknown image succeeded")
	}
}

func TestImageRPCValidationAndAbsence(t *testing.T) {
	h := newHarness(t)
	if _, err := h.rt().PullImage(h.ctx, &runtimeapi.PullImageRequest{}); code(err) != codes.InvalidArgument {
		t.Errorf("pull nil image: %v", err)
	}
	if _, err := h.rt().ImageStatus(h.ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{}}); code(err) != codes.InvalidArgument {
		t.Errorf("status empty image: %v", err)
	}
	st, err := h.svc.ImageStatus(h.ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "absent:1"}})
	if err != nil || st.Image != nil {
		t.Errorf("status of an absent image: %v %v, want empty", st, err)
	}
	if _, err := h.svc.RemoveImage(h.ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: "absent:1"}}); err != nil {
		t.Errorf("remove of an absent image: %v", err)
	}
	list, err := h.svc.ListImages(h.ctx, &runtimeapi.ListImagesRequest{})
	if err != nil || len(list.Images) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	pinned := 0
	for _, img := range list.Images {
		if img.Pinned {
			pinned++
		}
	}
	if pinned != 1 {
		t.Errorf("%d pinned images, want the sandbox image only", pinned)
	}
}

// An image with two names that a stopped container dockerlet does not
// manage uses is not removed by id (Docker would remove it only when
// forced, and forced it deletes it from under that container); without
// a user it is removed with all its names.
func TestRemoveImageByIDKeepsForeignContainersImage(t *testing.T) {
	h := newHarness(t)
	id := h.fake.AddImage(image.InspectResponse{RepoTags: []string{"dltcri/user:1", "dltcri/user:2"}})
	if _, err := h.fake.CreateContainer(h.ctx, engine.CreateSpec{Name: "users-own", Config: &container.Config{Image: "dltcri/user:1"}}); err != nil {
		t.Fatal(err)
	}
	_, err := h.svc.RemoveImage(h.ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: id}})
	if code(err) != codes.FailedPrecondition {
		t.Errorf("remove by id of an image in use: %v, want FailedPrecondition", err)
	}
	img, err := h.fake.InspectImageByID(h.ctx, id)
	if err != nil || len(img.RepoTags) != 2 {
		t.Fatalf("the user's image after the refused removal: %v %v", img, err)
	}

	free := h.fake.AddImage(image.InspectResponse{RepoTags: []string{"dltcri/free:1", "dltcri/free:2"}})
	if _, err := h.svc.RemoveImage(h.ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: free}}); err != nil {
		t.Fatalf("remove by id of an unused image with two names: %v", err)
	}
	if _, err := h.fake.InspectImageByID(h.ctx, free); code(err) != codes.NotFound && !errdefs.IsNotFound(err) {
		t.Errorf("unused image still present: %v", err)
	}
}

// A pull request's credentials are the mirrored registry's: they go to
// its mirror only when the operator says so, or when the client named the
// mirror itself as their server.
func TestMirrorGetsNoRegistryCredentials(t *testing.T) {
	const mirror, ref = "127.0.0.1:5000", "registry.k8s.io/e2e/private:1"
	spec := &runtimeapi.ImageSpec{Image: ref}
	for _, tc := range []struct {
		name     string
		forward  bool
		server   string
		wantCode codes.Code
	}{
		{"by default", false, "registry.k8s.io", codes.Unauthenticated},
		{"no server named", false, "", codes.Unauthenticated},
		{"credential for the mirror", false, "http://" + mirror, codes.OK},
		{"--registry-mirror-credentials", true, "registry.k8s.io", codes.OK},
	} {
		h := newHarness(t)
		h.svc.cfg.Mirrors = map[string]string{"registry.k8s.io": mirror}
		h.svc.cfg.MirrorCredentials = tc.forward
		if err := h.fake.AllowPull(mirror+"/e2e/private:1", nil); err != nil {
			t.Fatal(err)
		}
		if err := h.fake.RequirePullAuth(mirror+"/e2e/private:1", "u", "p"); err != nil {
			t.Fatal(err)
		}
		_, err := h.svc.PullImage(h.ctx, &runtimeapi.PullImageRequest{Image: spec, Auth: &runtimeapi.AuthConfig{Username: "u", Password: "p", ServerAddress: tc.server}})
		if code(err) != tc.wantCode {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.wantCode)
		}
	}
}
