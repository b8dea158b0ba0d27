package cri

import (
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// normalizeRef turns an image spec into a fully qualified reference with a
// tag (":latest" when neither tag nor digest is given).
func normalizeRef(spec string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(spec)
	if err != nil {
		return nil, invalidf("image reference %q: %v", spec, err)
	}
	return reference.TagNameOnly(named), nil
}

// isImageID reports whether spec names an image by its id (full, with or
// without "sha256:", or a hex prefix) rather than by reference.
func isImageID(spec, id string) bool {
	hex := strings.TrimPrefix(id, "sha256:")
	s := strings.TrimPrefix(spec, "sha256:")
	return len(s) >= 12 && strings.HasPrefix(hex, s) && (spec == id || strings.HasPrefix(spec, "sha256:") || !strings.ContainsAny(spec, "/:@"))
}

// criImage converts Docker's image record.
func (s *Service) criImage(img *image.InspectResponse) *runtimeapi.Image {
	out := &runtimeapi.Image{
		Id:          img.ID,
		RepoTags:    realRefs(img.RepoTags),
		RepoDigests: realRefs(img.RepoDigests),
		Size:        uint64(max(img.Size, 0)),
		Spec:        &runtimeapi.ImageSpec{Image: img.ID},
		Pinned:      s.isPinned(img.RepoTags),
	}
	if img.Config != nil {
		uid, name := imageUser(img.Config.User)
		out.Uid, out.Username = uid, name
	}
	return out
}

func (s *Service) criImageSummary(img image.Summary) *runtimeapi.Image {
	return &runtimeapi.Image{
		Id:          img.ID,
		RepoTags:    realRefs(img.RepoTags),
		RepoDigests: realRefs(img.RepoDigests),
		Size:        uint64(max(img.Size, 0)),
		Spec:        &runtimeapi.ImageSpec{Image: img.ID},
		Pinned:      s.isPinned(img.RepoTags),
	}
}

// isPinned keeps the sandbox image out of the kubelet's image GC.
func (s *Service) isPinned(tags []string) bool {
	want := s.cfg.PodInfraImage
	if n, err := normalizeRef(want); err == nil {
		want = reference.FamiliarString(n)
	}
	for _, t := range tags {
		if t == s.cfg.PodInfraImage || t == want {
			return true
		}
	}
	return false
}

// realRefs drops Docker's "<none>:<none>" placeholders.
func realRefs(refs []string) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if !strings.HasPrefix(r, "<none>") {
			out = append(out, r)
		}
	}
	return out
}

// imageUser splits an image's USER into a numeric uid or a user name; the
// group part is not the CRI's concern here.
func imageUser(user string) (*runtimeapi.Int64Value, string) {
	u, _, _ := strings.Cut(user, ":")
	if u == "" {
		return nil, ""
	}
	if n, err := strconv.ParseInt(u, 10, 64); err == nil {
		return &runtimeapi.Int64Value{Value: n}, ""
	}
	return nil, u
}
