package security

import (
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// TestMirrorGetsNoRegistryCredentials: with --registry-mirror, a pull of
// registry X's image goes to X's mirror. The request's credentials are
// X's (the kubelet chose them by the image's registry); the mirror is
// another server, here over plain HTTP, and must not get them. The mirror
// asks for basic auth, so Docker would answer with whatever it was given.
func TestMirrorGetsNoRegistryCredentials(t *testing.T) {
	const user, password = "dlhd-registry-user", "dlhd-Registry-Pa55-for-X"
	var (
		recording atomic.Bool
		mu        sync.Mutex
		seen      []string
	)
	mirror := testutil.StartRegistry(t, testutil.WithBasicAuth(user, password), testutil.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a := r.Header.Get("Authorization"); a != "" && recording.Load() {
				mu.Lock()
				seen = append(seen, a)
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	}))
	mirror.PushBusybox(t, prefix+"/mirrored:sec", testutil.ImageOptions{Marker: prefix + "-mirrored"})
	recording.Store(true)
	const registry = "registry.dlhd.invalid"
	e := newEnv(t, "", "", "info", "--registry-mirror", registry+"=http://"+mirror.Host)
	ref := registry + "/" + prefix + "/mirrored:sec"
	t.Cleanup(func() {
		for _, r := range []string{ref, mirror.Ref(prefix + "/mirrored:sec")} {
			_, _ = e.eng.RemoveImage(e.ctx, r, engine.ImageRemoveOptions{Force: true})
		}
	})
	_, err := e.img.PullImage(e.ctx, &runtimeapi.PullImageRequest{
		Image: &runtimeapi.ImageSpec{Image: ref},
		Auth:  &runtimeapi.AuthConfig{Username: user, Password: password, ServerAddress: registry},
	})
	if err == nil {
		t.Error("the pull through the mirror succeeded: it authenticated with the registry's credentials")
	} else if status.Code(err) != codes.Unauthenticated {
		t.Logf("pull: %v", err)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	mu.Lock()
	defer mu.Unlock()
	for _, a := range seen {
		if strings.Contains(a, basic) || strings.Contains(a, password) {
			t.Errorf("the mirror got the registry's credentials: Authorization %.20s…", a)
		}
	}
}
