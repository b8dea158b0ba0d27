package keyring

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// installHelper puts a docker-credential-<name> script on PATH that knows
// one server and answers "not found" for the rest.
func installHelper(t *testing.T, name, server, user string) {
	t.Helper()
	dir := t.TempDir()
	script := `#!/bin/sh
[ "$1" = get ] || exit 2
read -r url
if [ "$url" = "` + server + `" ]; then
	printf '{"ServerURL":"%s","Username":"` + user + `","Secret":"pw-` + user + `"}' "$url"
	exit 0
fi
echo "credentials not found in native keychain"
exit 1
`
	writeFile(t, filepath.Join(dir, "docker-credential-"+name), []byte(script))
	if err := os.Chmod(filepath.Join(dir, "docker-credential-"+name), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DOCKER_AUTH_CONFIG", "")
}

func TestCredentialHelpers(t *testing.T) {
	installHelper(t, "dltkitstore", "r.example.com:5000", "stored")
	installHelper(t, "dltkithub", "https://index.docker.io/v1/", "hubuser")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), []byte(`{
		"auths": {"r.example.com:5000": {}, "static.example.com": {"auth": "`+b64("static:pw-static")+`"}},
		"credsStore": "dltkitstore",
		"credHelpers": {"https://index.docker.io/v1/": "dltkithub", "broken.example.com": "dltkit-missing"}
	}`))
	k := New(nil)
	must(t, k.AddDockerConfigDir(dir))

	tests := []struct {
		image string
		want  []string
	}{
		{"r.example.com:5000/app:1", []string{"stored"}}, // credsStore
		{"busybox", []string{"hubuser"}},                 // credHelpers for Docker Hub
		{"static.example.com/app", []string{"static"}},   // helper says not found: only the static entry
		{"broken.example.com/app", nil},                  // helper binary missing: skipped, no error
	}
	for _, tt := range tests {
		got, err := k.Lookup(tt.image)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", tt.image, err)
		}
		if !slices.Equal(users(got), tt.want) {
			t.Errorf("Lookup(%q) = %v, want %v", tt.image, users(got), tt.want)
		}
		if len(got) == 1 && got[0].Auth.Password != "pw-"+tt.want[0] {
			t.Errorf("Lookup(%q): password not passed through", tt.image)
		}
	}
}
