package keyring

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// pattern is one configured registry key ("*.example.com:5000/team",
// "https://index.docker.io/v1/", …) ready for matching.
type pattern struct {
	raw    string
	labels []string // host labels, lower case; may hold globs
	port   string
	path   string // "" or "/a/b", no trailing '/'
}

// dockerHubHosts all mean Docker Hub; keys and images are canonicalised to
// docker.io so that credentials for any of them serve the others.
var dockerHubHosts = map[string]bool{
	"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true, "registry.hub.docker.com": true,
}

// parsePattern reads a registry key as the kubelet did: any scheme is
// ignored, Docker's "/v1/" and "/v2/" API paths mean the bare host.
func parsePattern(key string) (pattern, error) {
	s := strings.TrimSpace(key)
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	if s == "" {
		return pattern{}, fmt.Errorf("registry key %q is empty", key)
	}
	u, err := url.Parse("https://" + s)
	if err != nil {
		return pattern{}, fmt.Errorf("registry key %q: %w", key, err)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return pattern{}, fmt.Errorf("registry key %q has no host", key)
	}
	if dockerHubHosts[host] {
		host = "docker.io"
	}
	p := u.Path
	for _, api := range []string{"/v1/", "/v2/"} {
		if strings.HasPrefix(p+"/", api) {
			p = p[len(api)-1:]
		}
	}
	p = strings.TrimRight(path.Clean("/"+p), "/")
	return pattern{raw: key, labels: strings.Split(host, "."), port: u.Port(), path: p}, nil
}

// matches reports whether the pattern covers an image repository given as
// its registry host (with port) and path. Ports must be equal (absent on
// both or the same), hosts must have as many labels and each label must
// glob-match, and the pattern's path must be a whole-segment prefix of the
// repository path: "/team" covers "/team/app" but not "/teamx/app" (the
// kubelet compared plain string prefixes; a segment boundary keeps one
// team's login away from another's repositories).
func (p pattern) matches(host, port, repoPath string) bool {
	if p.port != port {
		return false
	}
	labels := strings.Split(host, ".")
	if len(labels) != len(p.labels) {
		return false
	}
	for i, glob := range p.labels {
		ok, err := path.Match(glob, labels[i])
		if err != nil || !ok {
			return false
		}
	}
	return p.path == "" || repoPath == p.path || strings.HasPrefix(repoPath, p.path+"/")
}

// specificity orders patterns: longer paths first, then hosts without
// globs before globbed ones. Equal patterns keep their insertion order.
func (p pattern) moreSpecificThan(q pattern) bool {
	if a, b := strings.Count(p.path, "/"), strings.Count(q.path, "/"); a != b {
		return a > b
	}
	return globs(p) < globs(q)
}

func globs(p pattern) int {
	n := 0
	for _, l := range p.labels {
		if strings.ContainsAny(l, "*?[") {
			n++
		}
	}
	return n
}
