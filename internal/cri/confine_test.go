package cri

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The log copier is handed the pod's log directory as the root the log
// path must stay in; a log path that only fits PATH_MAX on its own is
// refused once joined to the directory.
func TestLogPathRootAndLength(t *testing.T) {
	h := newHarness(t)
	logs := &recLogs{}
	h.wire(TestNode{Logs: logs})
	sb := h.runSandbox("root")
	dir := t.TempDir()
	h.startLogged(sb, "app", dir)
	logs.mu.Lock()
	paths := logs.paths
	logs.mu.Unlock()
	if len(paths) != 1 || paths[0] != [2]string{dir, filepath.Join(dir, "app.log")} {
		t.Errorf("log copier started with (root, path) %v, want (%s, %s/app.log)", paths, dir, dir)
	}

	cfg := containerConfig("long")
	cfg.LogPath = strings.Repeat("d/", maxPath/2-2) + "x"
	sbc := sandboxConfig("x")
	sbc.LogDirectory = "/" + strings.Repeat("l", 200)
	_, err := h.svc.CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg, SandboxConfig: sbc})
	if code(err) != codes.InvalidArgument {
		t.Errorf("log path over PATH_MAX: %v, want InvalidArgument", err)
	}
}

// Image volumes (Mount.image, image_sub_path) are not something Docker
// 20.10 can mount: a clear Unimplemented naming the Docker version that
// can, an escaping sub path InvalidArgument, and nothing is created.
func TestImageVolumeUnsupported(t *testing.T) {
	h := newHarness(t)
	sb := h.runSandbox("imgvol")
	for sub, want := range map[string]codes.Code{"": codes.Unimplemented, "data": codes.Unimplemented, "../../etc": codes.InvalidArgument} {
		cfg := containerConfig("iv")
		cfg.Mounts = []*runtimeapi.Mount{{ContainerPath: "/data", Readonly: true, Image: &runtimeapi.ImageSpec{Image: testImage}, ImageSubPath: sub}}
		_, err := h.rt().CreateContainer(h.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: cfg})
		if code(err) != want || !strings.Contains(err.Error(), "image volume") ||
			want == codes.Unimplemented && !strings.Contains(err.Error(), "Docker Engine 28.0") {
			t.Errorf("sub path %q: %v, want %s naming image volumes (and Docker 28.0)", sub, err, want)
		}
	}
	if ids := h.fake.ContainerIDs(); len(ids) != 1 {
		t.Errorf("%d containers, want only the sandbox", len(ids))
	}
}
