package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

func TestPullFake(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	var out, errOut strings.Builder
	err := pullMain(context.Background(), []string{"--docker-endpoint", "fake://", "busybox:1"}, &out, &errOut, false)
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "sha256:") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("stdout = %q, want just the image ID", out.String())
	}
	if !strings.Contains(errOut.String(), "without credentials") || !strings.Contains(errOut.String(), "Pull complete") {
		t.Errorf("stderr lacks progress:\n%s", errOut.String())
	}

	out.Reset()
	errOut.Reset()
	if err := pullMain(context.Background(), []string{"--docker-endpoint", "fake://", "-q", "busybox:1"}, &out, &errOut, false); err != nil {
		t.Fatal(err)
	}
	if errOut.Len() != 0 {
		t.Errorf("-q still wrote progress: %q", errOut.String())
	}
}

func TestPullBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("kind: ConfigMap\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badConfig := t.TempDir()
	if err := os.WriteFile(filepath.Join(badConfig, "config.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "exactly one IMAGE"},
		{[]string{"a", "b"}, "exactly one IMAGE"},
		{[]string{"--docker-endpoint", "fake://", "--secret", bad, "busybox"}, bad},
		{[]string{"--docker-endpoint", "fake://", "--docker-config", badConfig, "busybox"}, filepath.Join(badConfig, "config.json")},
		{[]string{"--docker-endpoint", "fake://", "Not/A Ref"}, "Not/A Ref"},
	}
	for _, tt := range tests {
		var out, errOut strings.Builder
		err := pullMain(context.Background(), tt.args, &out, &errOut, false)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("pull %q: err = %v, want it to contain %q", tt.args, err, tt.want)
		}
	}
}

// TestIntegrationPullCommand runs `dockerlet pull --secret` against the
// real daemon and a registry with basic auth.
func TestIntegrationPullCommand(t *testing.T) {
	testutil.RequireDocker(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	reg := testutil.StartRegistry(t, testutil.WithBasicAuth("dltkit-cli", "cli-s3cret"))
	ref := reg.PushBusybox(t, "dltkit/cli:1", testutil.ImageOptions{Marker: "dltkit-cli"})
	c, err := engine.Connect(testutil.DockerHost(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
		_ = c.Close()
	})
	cfg := `{"auths":{"` + reg.Host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("dltkit-cli:cli-s3cret")) + `"}}}`
	secret := filepath.Join(t.TempDir(), "secret.json")
	manifest := `{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"` + base64.StdEncoding.EncodeToString([]byte(cfg)) + `"}}`
	if err := os.WriteFile(secret, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var out, errOut strings.Builder
	args := []string{"--docker-endpoint", testutil.DockerHost(), ref}
	if err := pullMain(ctx, args, &out, &errOut, false); err == nil || !strings.Contains(err.Error(), "may be missing") {
		t.Fatalf("anonymous pull from a private registry: err = %v", err)
	}
	args = append([]string{"--secret", secret}, args...)
	if err := pullMain(ctx, args, &out, &errOut, true); err != nil {
		t.Fatalf("pull --secret: %v\n%s", err, errOut.String())
	}
	img, err := c.InspectImageByRef(ctx, ref)
	if err != nil || strings.TrimSpace(out.String()) != img.ID {
		t.Fatalf("pull printed %q; daemon has %v, %v", out.String(), img, err)
	}
	if !strings.Contains(errOut.String(), "\x1b[") {
		t.Errorf("terminal progress has no bars/redraws:\n%q", errOut.String())
	}
	if strings.Contains(errOut.String(), "cli-s3cret") {
		t.Error("progress output reveals the password")
	}
}
