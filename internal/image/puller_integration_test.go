package image_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
	"github.com/dockerlet/dockerlet/internal/image"
	"github.com/dockerlet/dockerlet/internal/keyring"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// prefix marks everything these tests create on the shared daemon.
const prefix = "dltkit"

const (
	user     = prefix + "-user"
	password = "s3cret-" + prefix
)

func connect(t *testing.T) *engine.Client { return enginetest.Connect(t, engine.Options{}) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// privateImage starts a registry with basic auth and pushes a busybox
// image to it; the pulled image is removed from the daemon at the end.
func privateImage(t *testing.T, c *engine.Client, tag string) (*testutil.Registry, string) {
	t.Helper()
	reg := testutil.StartRegistry(t, testutil.WithBasicAuth(user, password))
	ref := reg.PushBusybox(t, prefix+"/private:"+tag, testutil.ImageOptions{Marker: prefix + "-" + tag})
	t.Cleanup(func() {
		_, _ = c.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
	})
	return reg, ref
}

func dockerConfigJSON(host, user, pw string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pw))
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	return b
}

func writeSecret(t *testing.T, host, user, pw string) string {
	t.Helper()
	yaml := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: " +
		base64.StdEncoding.EncodeToString(dockerConfigJSON(host, user, pw)) + "\n"
	path := filepath.Join(t.TempDir(), "regcred.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func pullWith(t *testing.T, c *engine.Client, kr *keyring.Keyring, ref string) (string, error) {
	t.Helper()
	creds, err := kr.Lookup(ref)
	if err != nil {
		t.Fatal(err)
	}
	return image.NewPuller(c, nil).Pull(testCtx(t), ref, creds, nil)
}

func TestIntegrationPullWithSecretFile(t *testing.T) {
	c := connect(t)
	reg, ref := privateImage(t, c, "secret")
	kr := keyring.New(nil)
	if err := kr.AddSecretFile(writeSecret(t, reg.Host, user, password)); err != nil {
		t.Fatal(err)
	}
	id, err := pullWith(t, c, kr, ref)
	if err != nil {
		t.Fatalf("pull with the secret's credential: %v", err)
	}
	img, err := c.InspectImageByRef(testCtx(t), ref)
	if err != nil || img.ID != id {
		t.Fatalf("Pull returned %q; daemon has %v, %v", id, img, err)
	}
}

func TestIntegrationPullWithDockerConfig(t *testing.T) {
	c := connect(t)
	reg, ref := privateImage(t, c, "config")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), dockerConfigJSON("https://"+reg.Host, user, password), 0o600); err != nil {
		t.Fatal(err)
	}
	kr := keyring.New(nil)
	if err := kr.AddDockerConfigDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := pullWith(t, c, kr, ref); err != nil {
		t.Fatalf("pull with config.json's credential: %v", err)
	}
}

func TestIntegrationPullWrongPassword(t *testing.T) {
	c := connect(t)
	reg, ref := privateImage(t, c, "wrong")
	kr := keyring.New(nil)
	if err := kr.AddSecretFile(writeSecret(t, reg.Host, user, "not-the-password")); err != nil {
		t.Fatal(err)
	}
	_, err := pullWith(t, c, kr, ref)
	if !errdefs.IsUnauthorized(err) || !strings.Contains(strings.ToLower(err.Error()), "unauthorized") {
		t.Fatalf("wrong password: err = %v, want an unauthorized error", err)
	}
	t.Logf("wrong password: %v", err)
	if strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("error reveals the password: %v", err)
	}

	// Wrong first, right second: the right one wins.
	if err := kr.AddSecretFile(writeSecret(t, reg.Host, user, password)); err != nil {
		t.Fatal(err)
	}
	if _, err := pullWith(t, c, kr, ref); err != nil {
		t.Fatalf("wrong then right credential: %v", err)
	}
}

func TestIntegrationPullAnonymousFromPrivateRegistry(t *testing.T) {
	c := connect(t)
	reg, ref := privateImage(t, c, "anon")
	_, err := pullWith(t, c, keyring.New(nil), ref)
	if !errdefs.IsUnauthorized(err) {
		t.Fatalf("anonymous pull: err = %v, want Unauthenticated", err)
	}
	t.Logf("anonymous: %v", err)
	if !strings.Contains(err.Error(), "credentials for "+reg.Host+" may be missing") {
		t.Errorf("anonymous pull error does not say credentials may be missing: %v", err)
	}
}

func TestIntegrationPullRegistryUnavailable(t *testing.T) {
	c := connect(t)
	reg := testutil.StartRegistry(t, testutil.WithMiddleware(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("<html><body><h1>503 Service Unavailable</h1>" + strings.Repeat("<svg/>", 200) + "</body></html>"))
		})
	}))
	_, err := image.NewPuller(c, nil).Pull(testCtx(t), reg.Ref(prefix+"/down:1"), nil, nil)
	if !errors.Is(err, engine.ErrRegistryUnavailable) {
		t.Fatalf("503 registry: err = %v, want ErrRegistryUnavailable", err)
	}
	t.Logf("503: %v", err)
	if strings.Contains(err.Error(), "<html") || len(err.Error()) > 200 {
		t.Errorf("error is not short: %q", err)
	}
}
