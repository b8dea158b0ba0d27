package keyring

import (
	"regexp"
	"testing"
)

var hostRE = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9-]+)*$`)

// FuzzPattern: registry patterns of any shape parse or fail cleanly, and
// matching never panics; a plain host pattern matches images on that host.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"registry.example.com", "*.example.com:5000/path", "https://index.docker.io/v1/", "127.0.0.1:5000", "[::1]:5000", "*.*.x", ""} {
		f.Add(s, "registry.example.com", "5000", "library/busybox")
	}
	f.Fuzz(func(t *testing.T, key, host, port, path string) {
		p, err := parsePattern(key)
		if err != nil {
			return
		}
		_ = p.matches(host, port, path)
		q, err := parsePattern(host)
		if err == nil {
			_ = p.moreSpecificThan(q)
		}
		if hostRE.MatchString(key) {
			if !p.matches(key, "", "x") {
				t.Fatalf("pattern %q does not match its own host", key)
			}
		}
	})
}
