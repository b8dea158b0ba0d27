package engine_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/moby/api/types/registry"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

func TestIntegrationPullBasicAuth(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	ctx := testCtx(t)
	reg := testutil.StartRegistry(t, testutil.WithBasicAuth(prefix+"-user", "s3cret"))
	ref := reg.PushBusybox(t, prefix+"/private:1", testutil.ImageOptions{Marker: prefix + "-auth"})
	removeImageAtEnd(t, c, ref)

	for name, auth := range map[string]*registry.AuthConfig{
		"anonymous":      nil,
		"wrong password": {Username: prefix + "-user", Password: "wrong", ServerAddress: reg.Host},
	} {
		err := c.PullImage(ctx, ref, engine.PullOptions{Auth: auth})
		if !errdefs.IsUnauthorized(err) {
			t.Errorf("%s pull: %v, want errdefs.ErrUnauthenticated", name, err)
		}
		t.Logf("%s: %v (kind %v)", name, err, errdefs.Resolve(err))
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s pull error leaks the password: %v", name, err)
		}
	}
	err := c.PullImage(ctx, ref, engine.PullOptions{Auth: &registry.AuthConfig{Username: prefix + "-user", Password: "s3cret", ServerAddress: reg.Host}})
	if err != nil {
		t.Fatalf("pull with the right credential: %v", err)
	}
	if _, err := c.InspectImageByRef(ctx, ref); err != nil {
		t.Fatalf("pulled image absent: %v", err)
	}
	if err := c.PullImage(ctx, reg.Ref(prefix+"/absent:1"), engine.PullOptions{Auth: &registry.AuthConfig{Username: prefix + "-user", Password: "s3cret"}}); !errdefs.IsNotFound(err) {
		t.Fatalf("pull of an absent repository: %v, want errdefs.ErrNotFound", err)
	}
}

// TestIntegrationPullStalled serves the layer blob half-way and then
// stalls; the pull must be cancelled after the progress deadline with an
// error naming the image and the deadline.
func TestIntegrationPullStalled(t *testing.T) {
	const deadline = 2 * time.Second
	c := enginetest.Connect(t, engine.Options{PullProgressDeadline: deadline})
	ctx := testCtx(t)
	release := make(chan struct{})
	var stalled atomic.Int32
	// A fresh 1 MiB random layer: the daemon cannot have it already, so it
	// must download it, and the stall hits the middle of that blob.
	base, err := testutil.BusyboxImage(testutil.ImageOptions{Marker: prefix + "-stall"})
	if err != nil {
		t.Fatal(err)
	}
	big, err := random.Layer(1<<20, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	bigDigest, err := big.Digest()
	if err != nil {
		t.Fatal(err)
	}
	// Only that blob stalls. The daemon shares one download of a layer
	// among all pulls that want its digest, from whichever registry started
	// it: a stalled busybox layer would hand this registry's failure, once
	// it is closed, to other tests pulling busybox from their own.
	reg := testutil.StartRegistry(t, testutil.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+bigDigest.String()) {
				next.ServeHTTP(&stallWriter{ResponseWriter: w, after: 64 << 10, release: release, stalled: &stalled}, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	// Runs before the registry's own cleanup (LIFO), so its Close does not
	// wait for the stalled handlers.
	t.Cleanup(func() { close(release) })
	img, err := mutate.AppendLayers(base, big)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Push(t, prefix+"/stall:1", img)
	removeImageAtEnd(t, c, ref)

	var progress atomic.Int32
	start := time.Now()
	err = c.PullImage(ctx, ref, engine.PullOptions{Progress: func(engine.Progress) { progress.Add(1) }})
	elapsed := time.Since(start)
	if !errors.Is(err, engine.ErrPullStalled) {
		t.Fatalf("pull: %v, want ErrPullStalled", err)
	}
	if !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), deadline.String()) {
		t.Fatalf("error %q does not name the image and the deadline", err)
	}
	if stalled.Load() == 0 {
		t.Fatal("the stand-in never stalled a blob: the test proved nothing")
	}
	if progress.Load() == 0 {
		t.Fatal("no progress reported before the stall")
	}
	if elapsed < deadline {
		t.Fatalf("cancelled after %s, before the %s deadline", elapsed, deadline)
	}
	t.Logf("%q after %s (%d progress reports)", err, elapsed.Round(time.Millisecond), progress.Load())
}

// stallWriter passes the first after bytes of a response, then blocks
// until release.
type stallWriter struct {
	http.ResponseWriter
	after   int
	written int
	release <-chan struct{}
	stalled *atomic.Int32
}

func (s *stallWriter) Write(p []byte) (int, error) {
	if s.written+len(p) <= s.after {
		s.written += len(p)
		return s.ResponseWriter.Write(p)
	}
	n := s.after - s.written
	if n > 0 {
		if _, err := s.ResponseWriter.Write(p[:n]); err != nil {
			return 0, err
		}
		s.written += n
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	s.stalled.Add(1)
	<-s.release
	return n, errors.New("stalled")
}

// TestIntegrationPullRegistryUnavailable puts a stand-in answering 503
// with an HTML page in front of the registry: for every request (the
// daemon's /v2/ ping fails) and for manifests only (the ping succeeds).
func TestIntegrationPullRegistryUnavailable(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	for name, match := range map[string]func(*http.Request) bool{
		"every request":  func(*http.Request) bool { return true },
		"manifests only": func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/manifests/") },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			var hits atomic.Int32
			reg := testutil.StartRegistry(t, testutil.WithMiddleware(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !match(r) {
						next.ServeHTTP(w, r)
						return
					}
					hits.Add(1)
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte("<html><head><title>503 Service Unavailable</title></head><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>\n"))
				})
			}))
			ref := reg.Ref(prefix + "/down:1")
			start := time.Now()
			err := c.PullImage(ctx, ref, engine.PullOptions{})
			if !errors.Is(err, engine.ErrRegistryUnavailable) {
				t.Fatalf("pull: %v, want ErrRegistryUnavailable", err)
			}
			if hits.Load() == 0 {
				t.Fatal("the daemon never reached the failing stand-in")
			}
			msg := err.Error()
			if strings.Contains(msg, "<") || len(msg) > 200 || !strings.Contains(msg, "503") || !strings.Contains(msg, ref) {
				t.Fatalf("error is not one short line naming the image and the status: %q", msg)
			}
			t.Logf("%q after %s and %d failed requests", msg, time.Since(start).Round(time.Millisecond), hits.Load())
		})
	}
}
