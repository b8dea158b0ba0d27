package image

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/image"
)

var (
	idHex     = strings.Repeat("a", 64)
	digestHex = strings.Repeat("b", 64)
	otherHex  = strings.Repeat("c", 64)
)

func testImage() *image.InspectResponse {
	return &image.InspectResponse{
		ID: "sha256:" + idHex,
		RepoTags: []string{
			"busybox:1",
			"docker.io/myorg/app:v2",
			"localhost:5000/foo/bar:1",
			"quay.io/team/tool:3",
		},
		RepoDigests: []string{
			"busybox@sha256:" + digestHex,
		},
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		name string
		ref  string
		want bool
	}{
		// A bare name matches any image.
		{"bare name", "busybox", true},
		{"bare unrelated name", "nginx", true},
		{"bare qualified name", "docker.io/library/nginx", true},

		// Tags: same normalised repository, same tag.
		{"tag familiar", "busybox:1", true},
		{"tag fully qualified vs familiar RepoTag", "docker.io/library/busybox:1", true},
		{"tag legacy index host", "index.docker.io/library/busybox:1", true},
		{"tag docker.io without library", "docker.io/busybox:1", true},
		{"tag wrong tag", "busybox:2", false},
		{"tag wrong repo", "alpine:1", false},
		{"tag implicit latest is no tag", "busybox:latest", false},
		{"tag org repo familiar vs qualified RepoTag", "myorg/app:v2", true},
		{"tag org repo suffix trick", "yorg/app:v2", false},
		{"tag org repo prefix component", "xmyorg/app:v2", false},
		{"tag path suffix only", "app:v2", false},
		{"tag other registry, both explicit", "localhost:5000/foo/bar:1", true},
		{"tag other registry, different port", "localhost:5001/foo/bar:1", false},
		{"tag host on ref side only", "quay.io/busybox:1", true},
		{"tag host on RepoTag side only", "foo/bar:1", true},
		{"tag host differs, both explicit", "example.com/foo/bar:1", false},
		{"tag host on one side, path suffix trick", "xfoo/bar:1", false},
		{"tag host on one side, path longer", "a/foo/bar:1", false},
		{"tag quay explicit", "quay.io/team/tool:3", true},
		{"tag quay without host", "team/tool:3", true},
		{"tag quay wrong tag", "quay.io/team/tool:4", false},

		// Digests: a RepoDigest or the ID, same algorithm.
		{"digest in RepoDigests", "busybox@sha256:" + digestHex, true},
		{"digest of RepoDigest under another name", "other@sha256:" + digestHex, true},
		{"digest equal to image ID", "busybox@sha256:" + idHex, true},
		{"digest unknown", "busybox@sha256:" + otherHex, false},
		{"tag and digest, tag matches", "busybox:1@sha256:" + otherHex, true},
		{"tag and digest, digest matches", "busybox:9@sha256:" + digestHex, true},
		{"tag and digest, neither", "busybox:9@sha256:" + otherHex, false},

		// ID-only references match only the ID.
		{"id with algorithm", "sha256:" + idHex, true},
		{"bare 64-hex id", idHex, true},
		{"other id", "sha256:" + otherHex, false},
		{"bare other id", otherHex, false},
		{"repo digest is not the id", "sha256:" + digestHex, false},

		// Garbage matches nothing.
		{"empty", "", false},
		{"uppercase repo", "BusyBox:1", false},
		{"bad digest", "busybox@sha256:xyz", false},
		{"space", "busy box", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Matches(testImage(), tt.ref); got != tt.want {
				t.Errorf("Matches(%q) = %v, want %v", tt.ref, got, tt.want)
			}
		})
	}
}

func TestMatchesTagOrDigestRejectsIDs(t *testing.T) {
	img := testImage()
	for _, ref := range []string{"sha256:" + idHex, idHex, ""} {
		if MatchesTagOrDigest(img, ref) {
			t.Errorf("MatchesTagOrDigest(%q) = true, want false (ID-only or empty)", ref)
		}
	}
	if !MatchesTagOrDigest(img, "busybox:1") {
		t.Error("MatchesTagOrDigest(busybox:1) = false")
	}
}

func TestMatchesID(t *testing.T) {
	img := testImage()
	tests := []struct {
		ref  string
		want bool
	}{
		{"sha256:" + idHex, true},
		{idHex, true},
		{"sha256:" + otherHex, false},
		{"busybox:1", false}, // a name is not an ID
		{"busybox", false},
		{"busybox@sha256:" + idHex, false},
		{"sha512:" + strings.Repeat("a", 128), false}, // other algorithm
		{"", false},
	}
	for _, tt := range tests {
		if got := MatchesID(img, tt.ref); got != tt.want {
			t.Errorf("MatchesID(%q) = %v, want %v", tt.ref, got, tt.want)
		}
	}
	// An engine that reports IDs the parser does not know (Docker 1.9 did
	// without "sha256:") still matches literally.
	old := &image.InspectResponse{ID: "0123abc"}
	if !MatchesID(old, "0123abc") || !Matches(old, "0123abc") {
		t.Error("literal ID equality did not match")
	}
}

func TestMatchesNilImage(t *testing.T) {
	for _, ref := range []string{"busybox", "busybox:1", "sha256:" + idHex} {
		if Matches(nil, ref) || MatchesID(nil, ref) || MatchesTagOrDigest(nil, ref) {
			t.Errorf("nil image matched %q", ref)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1", want: "docker.io/library/busybox:1"},
		{in: "index.docker.io/library/busybox:1", want: "docker.io/library/busybox:1"},
		{in: "myorg/app", want: "docker.io/myorg/app:latest"},
		{in: "localhost:5000/foo", want: "localhost:5000/foo:latest"},
		{in: "busybox@sha256:" + digestHex, want: "docker.io/library/busybox@sha256:" + digestHex},
		{in: "sha256:" + idHex, want: "sha256:" + idHex},
		{in: idHex, want: "sha256:" + idHex},
		{in: "", wantErr: "empty image reference"},
		{in: "Busybox", wantErr: `image reference "Busybox"`},
		{in: "a b", wantErr: "invalid reference format"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Normalize(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzMatches(f *testing.F) {
	f.Add("busybox:1", "docker.io/library/busybox:1", "busybox@sha256:"+digestHex)
	f.Add("sha256:"+idHex, "x", "")
	f.Fuzz(func(t *testing.T, ref, tag, dig string) {
		img := &image.InspectResponse{ID: "sha256:" + idHex, RepoTags: []string{tag}, RepoDigests: []string{dig}}
		_ = Matches(img, ref)
		_ = MatchesID(img, ref)
		_, _ = Normalize(ref)
	})
}
