// Package image normalises image references, matches them against the
// engine's images the way the kubelet did, resolves image refs, and pulls
// with credentials.
package image

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// Ref is a parsed image reference: either a repository reference (name,
// optionally with a tag and/or a digest) or an image ID.
type Ref struct {
	// Named is set for repository references, normalised
	// (docker.io/library/… for familiar names).
	Named reference.Named
	// ExplicitDomain says the original string spelt out the registry host.
	ExplicitDomain bool
	// ID is set for ID-only references ("sha256:…" or 64 hex digits).
	ID digest.Digest
}

// Parse parses an image reference as Docker and the CRI spell them.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("empty image reference: %w", errdefs.ErrInvalidArgument)
	}
	any, err := reference.ParseAnyReference(s)
	if err != nil {
		return Ref{}, fmt.Errorf("image reference %q: %v: %w", s, err, errdefs.ErrInvalidArgument)
	}
	named, ok := any.(reference.Named)
	if !ok {
		d, isDigest := any.(reference.Digested)
		if !isDigest {
			return Ref{}, fmt.Errorf("image reference %q: neither a name nor an ID: %w", s, errdefs.ErrInvalidArgument)
		}
		return Ref{ID: d.Digest()}, nil
	}
	first, _, hasSlash := strings.Cut(s, "/")
	explicit := hasSlash && (first == reference.Domain(named) || first == "index.docker.io")
	return Ref{Named: named, ExplicitDomain: explicit}, nil
}

// IsID reports whether r names an image only by its ID.
func (r Ref) IsID() bool { return r.Named == nil }

// Tag returns the reference's tag, "" when it has none.
func (r Ref) Tag() string {
	if t, ok := r.Named.(reference.Tagged); ok {
		return t.Tag()
	}
	return ""
}

// Digest returns the reference's digest, "" when it has none.
func (r Ref) Digest() digest.Digest {
	if d, ok := r.Named.(reference.Digested); ok {
		return d.Digest()
	}
	return ""
}

// String is the normalised form: "sha256:…" for IDs, and the fully
// qualified name with ":latest" added when neither tag nor digest is given.
func (r Ref) String() string {
	if r.IsID() {
		return r.ID.String()
	}
	return reference.TagNameOnly(r.Named).String()
}

// Normalize returns the normalised form of an image reference (see
// Ref.String): "busybox" → "docker.io/library/busybox:latest".
func Normalize(s string) (string, error) {
	r, err := Parse(s)
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// sameRepository compares repositories. When both references spell out
// their registry host the full names must be equal; when one leaves it out
// (Docker's familiar form) only the path after the host is compared, with
// Docker Hub's implicit "library/" removed. Components compare whole, so
// "foo/bar" never matches "xfoo/bar".
func sameRepository(a, b Ref) bool {
	if a.ExplicitDomain && b.ExplicitDomain {
		return a.Named.Name() == b.Named.Name()
	}
	return repoPath(a.Named) == repoPath(b.Named)
}

func repoPath(n reference.Named) string {
	p := reference.Path(n)
	if reference.Domain(n) == "docker.io" {
		p = strings.TrimPrefix(p, "library/")
	}
	return p
}
