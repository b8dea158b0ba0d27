package image

import (
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"
	"github.com/opencontainers/go-digest"
)

// Matches reports whether the image specifier ref names img, with the
// kubelet's rules: an ID-only reference matches only that ID (MatchesID);
// anything else goes through MatchesTagOrDigest. An unparseable ref matches
// nothing.
func Matches(img *image.InspectResponse, ref string) bool {
	r, err := Parse(ref)
	if err != nil {
		// The literal ID still matches, as with engines that report IDs
		// in a form the parser does not know.
		return img != nil && ref != "" && img.ID == ref
	}
	return matchesRef(img, ref, r)
}

// matchesRef is Matches for a reference already parsed into r.
func matchesRef(img *image.InspectResponse, ref string, r Ref) bool {
	if r.IsID() {
		return matchesID(img, ref, r)
	}
	return matchesTagOrDigest(img, r)
}

// MatchesTagOrDigest is the seed's matchImageTagOrSHA: a bare name matches
// any image; a tag must match one of the image's RepoTags in the same
// repository; a digest must match one of its RepoDigests, or its ID with
// the same algorithm. A reference with both a tag and a digest matches when
// either does. ID-only references never match here.
func MatchesTagOrDigest(img *image.InspectResponse, ref string) bool {
	r, err := Parse(ref)
	if err != nil || r.IsID() {
		return false
	}
	return matchesTagOrDigest(img, r)
}

func matchesTagOrDigest(img *image.InspectResponse, r Ref) bool {
	if img == nil {
		return false
	}
	tag, dgst := r.Tag(), r.Digest()
	if tag == "" && dgst == "" {
		return true
	}
	if tag != "" {
		for _, rt := range img.RepoTags {
			have, err := Parse(rt)
			if err != nil || have.IsID() || have.Tag() != tag {
				continue
			}
			if sameRepository(r, have) {
				return true
			}
		}
	}
	if dgst != "" {
		for _, rd := range img.RepoDigests {
			named, err := reference.ParseNormalizedNamed(rd)
			if err != nil {
				continue
			}
			if d, ok := named.(reference.Digested); ok && sameDigest(d.Digest(), dgst) {
				return true
			}
		}
		if id, err := digest.Parse(img.ID); err == nil && sameDigest(id, dgst) {
			return true
		}
	}
	return false
}

// MatchesID is the seed's matchImageIDOnly: ref must be an ID-only
// reference ("sha256:…" or 64 hex digits) equal to img's ID.
func MatchesID(img *image.InspectResponse, ref string) bool {
	if img == nil {
		return false
	}
	r, err := Parse(ref)
	if err != nil || !r.IsID() {
		return img.ID != "" && img.ID == ref
	}
	return matchesID(img, ref, r)
}

func matchesID(img *image.InspectResponse, ref string, r Ref) bool {
	if img == nil {
		return false
	}
	if img.ID != "" && img.ID == ref {
		return true
	}
	id, err := digest.Parse(img.ID)
	return err == nil && sameDigest(id, r.ID)
}

func sameDigest(a, b digest.Digest) bool {
	return a.Algorithm() == b.Algorithm() && a.Encoded() == b.Encoded()
}
