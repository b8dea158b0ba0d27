package keyring

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"
)

func authFor(user string) registry.AuthConfig {
	return registry.AuthConfig{Username: user, Password: "pw-" + user}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// dockerConfigJSON renders {"auths": {key: {"auth": b64(user:pw-user)}}}.
func dockerConfigJSON(keyUser map[string]string) []byte {
	auths := map[string]map[string]string{}
	for key, user := range keyUser {
		auths[key] = map[string]string{"auth": b64(user + ":pw-" + user)}
	}
	b, _ := json.Marshal(map[string]any{"auths": auths})
	return b
}

// secretManifest renders a kubernetes.io/dockerconfigjson Secret as JSON.
func secretManifest(name string, keyUser map[string]string) []byte {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   map[string]string{"name": name},
		"type":       SecretTypeDockerConfigJSON,
		"data":       map[string]string{SecretKeyDockerConfigJSON: b64(string(dockerConfigJSON(keyUser)))},
	})
	return b
}

func users(creds []Credential) []string {
	var out []string
	for _, c := range creds {
		out = append(out, c.Auth.Username)
	}
	return out
}

func TestLookupOrder(t *testing.T) {
	k := New(nil)
	must(t, k.AddSecret("s1", secretManifest("s1", map[string]string{
		"registry.example.com":           "host",
		"registry.example.com/team":      "team",
		"registry.example.com/team/app":  "app",
		"*.example.com":                  "glob",
		"registry.example.com:5000/team": "port",
	})))
	must(t, k.AddSecret("s2", secretManifest("s2", map[string]string{
		"registry.example.com/team": "team2",
	})))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), dockerConfigJSON(map[string]string{
		"registry.example.com/team/app/x": "node-deeper", // does not cover team/app
		"https://registry.example.com":    "node-host",
		"registry.example.com/team/app":   "node-app",
	}))
	must(t, k.AddDockerConfigDir(dir))

	got, err := k.Lookup("registry.example.com/team/app:1")
	must(t, err)
	// Secrets before the node's config; within a tier, longer paths first,
	// then plain hosts before globs; equal keys in insertion order.
	want := []string{"app", "team", "team2", "host", "glob", "node-app", "node-host"}
	if !slices.Equal(users(got), want) {
		t.Errorf("Lookup order = %v, want %v", users(got), want)
	}
	if got[0].Source != "s1" || got[0].Registry != "registry.example.com/team/app" {
		t.Errorf("first credential source/registry = %q/%q", got[0].Source, got[0].Registry)
	}
	if got[0].Auth.Password != "pw-app" {
		t.Errorf("auth not decoded: %+v", got[0].Auth.Username)
	}

	none, err := k.Lookup("quay.io/team/app")
	must(t, err)
	if len(none) != 0 {
		t.Errorf("unrelated registry got %v", users(none))
	}
	if _, err := k.Lookup("Not A Ref"); err == nil {
		t.Error("Lookup of a bad reference: no error")
	}
}

func TestLookupDockerHub(t *testing.T) {
	k := New(nil)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), dockerConfigJSON(map[string]string{
		"https://index.docker.io/v1/": "hub",
	}))
	must(t, k.AddDockerConfigDir(dir))
	for _, img := range []string{"busybox", "busybox:1", "library/busybox", "docker.io/library/busybox", "index.docker.io/myorg/app", "myorg/app@sha256:" + strings.Repeat("a", 64)} {
		got, err := k.Lookup(img)
		must(t, err)
		if !slices.Equal(users(got), []string{"hub"}) {
			t.Errorf("Lookup(%q) = %v, want [hub]", img, users(got))
		}
	}
	got, err := k.Lookup("localhost:5000/busybox")
	must(t, err)
	if len(got) != 0 {
		t.Errorf("hub credential offered to localhost:5000: %v", users(got))
	}
}

func TestLookupDeduplicates(t *testing.T) {
	k := New(nil)
	must(t, k.AddSecret("a", secretManifest("a", map[string]string{"r.example.com": "same"})))
	must(t, k.AddSecret("b", secretManifest("b", map[string]string{"r.example.com": "same"})))
	got, err := k.Lookup("r.example.com/x")
	must(t, err)
	if len(got) != 1 || got[0].Source != "a" {
		t.Errorf("duplicates not folded into the first: %v", got)
	}
}

func TestEmptyEntriesAreNotCredentials(t *testing.T) {
	dir := t.TempDir()
	// What `docker login` leaves with a credsStore: an empty marker.
	writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"auths":{"r.example.com":{}}}`))
	k := New(nil)
	must(t, k.AddDockerConfigDir(dir))
	got, err := k.Lookup("r.example.com/x")
	must(t, err)
	if len(got) != 0 {
		t.Errorf("empty marker offered as a credential: %v", got)
	}
}

func TestPlainUsernamePasswordAndTokens(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"auths":{
		"a.example.com":{"username":"alice","password":"pa"},
		"b.example.com":{"identitytoken":"tok"}}}`))
	k := New(nil)
	must(t, k.AddDockerConfigDir(dir))
	a, _ := k.Lookup("a.example.com/x")
	b, _ := k.Lookup("b.example.com/x")
	if len(a) != 1 || a[0].Auth.Username != "alice" || a[0].Auth.Password != "pa" {
		t.Errorf("username/password entry: %v", a)
	}
	if len(b) != 1 || b[0].Auth.IdentityToken != "tok" {
		t.Errorf("identity token entry: %v", b)
	}
}

func TestLegacyDockercfg(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".dockercfg"), []byte(fmt.Sprintf(
		`{"https://legacy.example.com":{"auth":%q,"email":"a@b.c"}}`, b64("old:pw-old"))))
	k := New(nil)
	must(t, k.AddDockerConfigDir(dir))
	got, err := k.Lookup("legacy.example.com/x")
	must(t, err)
	if len(got) != 1 || got[0].Auth.Username != "old" || got[0].Auth.Password != "pw-old" {
		t.Fatalf("legacy .dockercfg: %v", got)
	}
	if got[0].Source != filepath.Join(dir, ".dockercfg") {
		t.Errorf("source = %q", got[0].Source)
	}
}

func TestMissingConfigIsFine(t *testing.T) {
	k := New(nil)
	must(t, k.AddDockerConfigDir(filepath.Join(t.TempDir(), "nope")))
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	must(t, k.AddDefaultDockerConfig())
}

func TestCredentialNeverPrintsSecrets(t *testing.T) {
	c := Credential{Source: "f", Registry: "r", Auth: registry.AuthConfig{
		Username: "user", Password: "hunter2", Auth: b64("user:hunter2"), IdentityToken: "idtok", RegistryToken: "regtok"}}
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("x", "cred", c)
	log.Info("y", "creds", []Credential{c})
	out := buf.String() + c.String() + fmt.Sprintf("%v %+v %#v %s", c, c, c, []Credential{c})
	for _, secret := range []string{"hunter2", b64("user:hunter2"), "idtok", "regtok"} {
		if strings.Contains(out, secret) {
			t.Errorf("output reveals %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "user") {
		t.Errorf("output lost the username: %s", out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, data, 0o600))
}
