package keyring

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretFormats(t *testing.T) {
	cfgJSON := string(dockerConfigJSON(map[string]string{"r.example.com:5000": "alice"}))
	legacy := fmt.Sprintf(`{"r.example.com:5000":{"auth":%q,"email":"x@y"}}`, b64("alice:pw-alice"))
	tests := []struct {
		name     string
		manifest string
	}{
		{"dockerconfigjson JSON", fmt.Sprintf(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},
			"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":%q}}`, b64(cfgJSON))},
		{"dockerconfigjson YAML", fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: %s\n", b64(cfgJSON))},
		{"dockerconfigjson stringData", fmt.Sprintf("kind: Secret\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '%s'\n", cfgJSON)},
		{"dockercfg JSON", fmt.Sprintf(`{"kind":"Secret","type":"kubernetes.io/dockercfg","data":{".dockercfg":%q}}`, b64(legacy))},
		{"dockercfg YAML", fmt.Sprintf("kind: Secret\ntype: kubernetes.io/dockercfg\ndata:\n  .dockercfg: %s\n", b64(legacy))},
		{"username and password fields", fmt.Sprintf(`{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":%q}}`,
			b64(`{"auths":{"r.example.com:5000":{"username":"alice","password":"pw-alice"}}}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret")
			writeFile(t, path, []byte(tt.manifest))
			k := New(nil)
			must(t, k.AddSecretFile(path))
			got, err := k.Lookup("r.example.com:5000/app:1")
			must(t, err)
			if len(got) != 1 || got[0].Auth.Username != "alice" || got[0].Auth.Password != "pw-alice" {
				t.Fatalf("Lookup = %v", got)
			}
			if !strings.HasPrefix(got[0].Source, path) {
				t.Errorf("Source = %q, want it to name %s", got[0].Source, path)
			}
		})
	}
}

func TestSecretErrors(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		want     string
	}{
		{"empty file", "", `kind is ""`},
		{"not yaml", "kind: [", "not JSON or YAML"},
		{"a list", "[1,2]", "not a Secret"},
		{"wrong kind", `{"kind":"ConfigMap"}`, `kind is "ConfigMap"`},
		{"opaque secret", `{"kind":"Secret","type":"Opaque","data":{}}`, `type is "Opaque"`},
		{"missing key", `{"kind":"Secret","metadata":{"name":"regcred"},"type":"kubernetes.io/dockerconfigjson","data":{"other":""}}`,
			`secret regcred): type kubernetes.io/dockerconfigjson has no data key ".dockerconfigjson"`},
		{"bad base64 data", `{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"%%%"}}`, "not a Secret"},
		{"payload not json", fmt.Sprintf(`{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":%q}}`, b64("nope")), "not a JSON object"},
		{"payload null", fmt.Sprintf(`{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":%q}}`, b64("null")), "not a JSON object: null"},
		{"payload auths wrong type", fmt.Sprintf(`{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":%q}}`, b64(`{"auths":"x"}`)), "invalid docker config"},
		{"payload bad auth base64", fmt.Sprintf(`{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":%q}}`, b64(`{"auths":{"r":{"auth":"!!"}}}`)), "invalid docker config"},
		{"payload auth without colon", fmt.Sprintf(`{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":%q}}`, b64(fmt.Sprintf(`{"auths":{"r":{"auth":%q}}}`, b64("nocolon")))), "invalid docker config"},
		{"legacy payload trailing garbage", fmt.Sprintf(`{"kind":"Secret","type":"kubernetes.io/dockercfg","data":{".dockercfg":%q}}`, b64(`{} x`)), "not a JSON object"},
		{"legacy payload array", fmt.Sprintf(`{"kind":"Secret","type":"kubernetes.io/dockercfg","data":{".dockercfg":%q}}`, b64(`[]`)), "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad-secret.yaml")
			writeFile(t, path, []byte(tt.manifest))
			err := New(nil).AddSecretFile(path)
			if err == nil {
				t.Fatalf("no error for %s", tt.manifest)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to name %s and contain %q", err, path, tt.want)
			}
		})
	}
	if err := New(nil).AddSecretFile(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing secret file: err = %v", err)
	}
}

func TestDockerConfigErrors(t *testing.T) {
	tests := []struct{ name, file, content, want string }{
		{"config.json not json", "config.json", "{", "not a JSON object"},
		{"config.json auths wrong type", "config.json", `{"auths":[]}`, "invalid docker config"},
		{"config.json bad auth", "config.json", `{"auths":{"r":{"auth":"***"}}}`, "invalid docker config"},
		{"config.json empty", "config.json", "", "not a JSON object"},
		{"dockercfg not json", ".dockercfg", "x", "not a JSON object"},
		{"dockercfg entry wrong type", ".dockercfg", `{"r":"x"}`, "invalid legacy dockercfg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			writeFile(t, path, []byte(tt.content))
			err := New(nil).AddDockerConfigDir(dir)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to name %s and contain %q", err, path, tt.want)
			}
		})
	}
}

// FuzzParsers: the secret and docker-config parsers never panic, and an
// error always names its source.
func FuzzParsers(f *testing.F) {
	f.Add([]byte(`{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"e30="}}`))
	f.Add([]byte("kind: Secret\ntype: kubernetes.io/dockercfg\nstringData:\n  .dockercfg: '{\"r\":{\"auth\":\"YTpi\"}}'\n"))
	f.Add([]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"YTpi"}},"credHelpers":{"x":"y"}}`))
	f.Add([]byte(`{"r":{"auth":"YTpi"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func() error{
			func() error { _, err := ParseSecret("src", data); return err },
			func() error { _, err := parseConfigJSON("src", data); return err },
			func() error { _, err := parseDockercfg("src", data); return err },
			func() error { return New(nil).AddSecret("src", data) },
		} {
			if err := parse(); err != nil && !strings.Contains(err.Error(), "src") {
				t.Fatalf("error does not name its source: %v", err)
			}
		}
		// Whatever parsed must be usable for lookups.
		k := New(nil)
		if k.AddSecret("src", data) == nil {
			_, _ = k.Lookup("example.com/x")
		}
	})
}
