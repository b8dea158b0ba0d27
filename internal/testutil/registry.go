package testutil

import (
	"crypto/subtle"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is an in-process OCI registry on 127.0.0.1:<free port>. Docker
// trusts 127.0.0.0/8 without TLS, so the real dockerd pulls from it.
type Registry struct {
	// Host is "127.0.0.1:<port>", the registry part of image references.
	Host string
	// User and Password are set when the registry demands basic auth.
	User, Password string
	srv            *httptest.Server
}

// RegistryOption configures StartRegistry.
type RegistryOption func(*registryConfig)

type registryConfig struct {
	user, password string
	wrap           func(http.Handler) http.Handler
}

// WithBasicAuth makes every request need user:password.
func WithBasicAuth(user, password string) RegistryOption {
	return func(c *registryConfig) { c.user, c.password = user, password }
}

// WithMiddleware wraps the registry handler, e.g. to stall or fail requests.
func WithMiddleware(wrap func(http.Handler) http.Handler) RegistryOption {
	return func(c *registryConfig) { c.wrap = wrap }
}

// StartRegistry serves a fresh, empty registry until the test ends.
func StartRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	var cfg registryConfig
	for _, o := range opts {
		o(&cfg)
	}
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if cfg.user != "" {
		h = basicAuth(h, cfg.user, cfg.password)
	}
	if cfg.wrap != nil {
		h = cfg.wrap(h)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("registry listen: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return &Registry{Host: l.Addr().String(), User: cfg.user, Password: cfg.password, srv: srv}
}

// Ref returns "<host>/<repoTag>".
func (r *Registry) Ref(repoTag string) string { return r.Host + "/" + repoTag }

func basicAuth(next http.Handler, user, password string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="dockerlet-test"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	})
}
