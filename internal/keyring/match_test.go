package keyring

import "testing"

func TestPatternMatches(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		image string // host[:port]/path as the keyring sees it after normalising
		want  bool
	}{
		// Scheme is ignored.
		{"bare host", "registry.example.com", "registry.example.com/app", true},
		{"https scheme", "https://registry.example.com", "registry.example.com/app", true},
		{"http scheme", "http://registry.example.com", "registry.example.com/app", true},
		{"other scheme", "oci://registry.example.com", "registry.example.com/app", true},
		{"trailing slash", "registry.example.com/", "registry.example.com/app", true},
		{"v1 api path is the host", "https://registry.example.com/v1/", "registry.example.com/app", true},
		{"v2 api path is the host", "https://registry.example.com/v2/", "registry.example.com/app", true},
		{"host differs", "registry.example.com", "other.example.com/app", false},
		{"host case-insensitive", "Registry.Example.COM", "registry.example.com/app", true},

		// Ports must match.
		{"same port", "registry.example.com:5000", "registry.example.com:5000/app", true},
		{"key port, image none", "registry.example.com:5000", "registry.example.com/app", false},
		{"image port, key none", "registry.example.com", "registry.example.com:5000/app", false},
		{"other port", "registry.example.com:5000", "registry.example.com:5001/app", false},
		{"localhost port", "localhost:5000", "localhost:5000/app", true},
		{"ip port", "127.0.0.1:5001", "127.0.0.1:5001/app", true},
		{"ipv6 port", "[::1]:5000", "[::1]:5000/app", true},
		{"ipv6 other port", "[::1]:5000", "[::1]:5001/app", false},

		// Globs, label by label.
		{"glob one label", "*.example.com", "registry.example.com/app", true},
		{"glob does not span labels", "*.example.com", "a.b.example.com/app", false},
		{"extra trailing labels", "registry.example.com", "registry.example.com.evil.io/app", false},
		{"trailing glob does not span labels", "registry.*", "registry.example.com/app", false},
		{"glob needs a label", "*.example.com", "example.com/app", false},
		{"glob in the middle", "registry.*.com", "registry.example.com/app", true},
		{"glob partial label", "reg*.example.com", "registry.example.com/app", true},
		{"glob partial label no match", "reg*.example.com", "images.example.com/app", false},
		{"glob with port", "*.example.com:5000", "registry.example.com:5000/app", true},
		{"glob with wrong port", "*.example.com:5000", "registry.example.com/app", false},
		{"two globs", "*.*.com", "registry.example.com/app", true},

		// Paths: whole-segment prefixes.
		{"path prefix", "registry.example.com/team", "registry.example.com/team/app", true},
		{"path exact", "registry.example.com/team/app", "registry.example.com/team/app", true},
		{"path other team", "registry.example.com/team", "registry.example.com/other/app", false},
		{"path string prefix is not a segment prefix", "registry.example.com/team", "registry.example.com/teamx/app", false},
		{"path longer than image", "registry.example.com/team/app/x", "registry.example.com/team/app", false},
		{"v2 api path then namespace", "https://registry.example.com/v2/team", "registry.example.com/team/app", true},

		// Docker Hub's names are one registry.
		{"docker.io for familiar", "docker.io", "docker.io/library/busybox", true},
		{"index.docker.io legacy key", "https://index.docker.io/v1/", "docker.io/library/busybox", true},
		{"index.docker.io bare", "index.docker.io", "docker.io/myorg/app", true},
		{"registry-1", "registry-1.docker.io", "docker.io/myorg/app", true},
		{"hub org path", "docker.io/myorg", "docker.io/myorg/app", true},
		{"hub other org", "docker.io/myorg", "docker.io/otherorg/app", false},
		{"hub key for other registry", "docker.io", "quay.io/myorg/app", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePattern(tt.key)
			if err != nil {
				t.Fatalf("parsePattern(%q): %v", tt.key, err)
			}
			k := New(nil)
			k.secrets = []entry{{pat: p, cred: Credential{Registry: tt.key, Auth: authFor("u")}}}
			got, err := k.Lookup(tt.image)
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tt.image, err)
			}
			if (len(got) == 1) != tt.want {
				t.Errorf("key %q, image %q: matched %v, want %v", tt.key, tt.image, len(got) == 1, tt.want)
			}
		})
	}
}

func TestParsePatternErrors(t *testing.T) {
	for _, key := range []string{"", "   ", "https://", "http://%zz", "https:///path-only", "[.example.com"} {
		if p, err := parsePattern(key); err == nil {
			t.Errorf("parsePattern(%q) = %+v, want error", key, p)
		}
	}
}
