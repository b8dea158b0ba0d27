package image

import (
	"context"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
)

// stubInspector answers InspectImageByRef from a map, as Docker resolves
// references (including forms the match rules must then reject).
type stubInspector struct {
	byRef map[string]*image.InspectResponse
	byID  map[string]*image.InspectResponse
	err   error
}

func (s stubInspector) InspectImageByRef(_ context.Context, ref string) (*image.InspectResponse, error) {
	if s.err != nil {
		return nil, s.err
	}
	if img, ok := s.byRef[ref]; ok {
		return img, nil
	}
	return nil, fmt.Errorf("no such image %s: %w", ref, errdefs.ErrNotFound)
}

func (s stubInspector) InspectImageByID(_ context.Context, id string) (*image.InspectResponse, error) {
	if s.err != nil {
		return nil, s.err
	}
	if img, ok := s.byID[id]; ok {
		return img, nil
	}
	return nil, fmt.Errorf("no such image %s: %w", id, errdefs.ErrNotFound)
}

func TestImageRef(t *testing.T) {
	img := testImage()
	noDigest := &image.InspectResponse{ID: "sha256:" + otherHex, RepoTags: []string{"local:1"}}
	eng := stubInspector{
		byRef: map[string]*image.InspectResponse{
			"busybox:1": img,
			"busybox":   img,
			"local:1":   noDigest,
			// Docker resolving a tag to an image that does not carry it
			// (say, a racing retag): the match rules must reject it.
			"busybox:9": img,
		},
		byID: map[string]*image.InspectResponse{img.ID: img},
	}
	ctx := context.Background()
	tests := []struct {
		ref          string
		preferDigest bool
		want         string
	}{
		{"busybox:1", false, img.ID},
		{"busybox:1", true, "busybox@sha256:" + digestHex},
		{"busybox", false, img.ID},
		{"local:1", true, noDigest.ID}, // no repo digest: the ID
		{"absent:1", false, ""},
		{"absent:1", true, ""},
		{"busybox:9", false, ""}, // present under the ref, but not matching
		{"sha256:" + idHex, false, img.ID},
		{idHex, false, img.ID},
		{"sha256:" + otherHex, false, ""},
	}
	for _, tt := range tests {
		got, err := ImageRef(ctx, eng, tt.ref, tt.preferDigest)
		if err != nil {
			t.Errorf("ImageRef(%q, %v): %v", tt.ref, tt.preferDigest, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ImageRef(%q, %v) = %q, want %q", tt.ref, tt.preferDigest, got, tt.want)
		}
	}
}

func TestImageRefErrors(t *testing.T) {
	ctx := context.Background()
	down := stubInspector{err: fmt.Errorf("dial: %w", errdefs.ErrUnavailable)}
	if _, err := ImageRef(ctx, down, "busybox:1", false); !errdefs.IsUnavailable(err) {
		t.Errorf("engine failure: err = %v, want ErrUnavailable", err)
	}
	if _, err := ImageRef(ctx, stubInspector{}, "Bad Ref", false); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad ref: err = %v, want ErrInvalidArgument", err)
	}
}

func TestResolve(t *testing.T) {
	img := testImage()
	eng := stubInspector{
		byRef: map[string]*image.InspectResponse{"busybox:1": img, "busybox:9": img},
		byID:  map[string]*image.InspectResponse{img.ID: img},
	}
	ctx := context.Background()
	got, err := Resolve(ctx, eng, "busybox:1")
	if err != nil || got != img {
		t.Fatalf("Resolve(busybox:1) = %v, %v", got, err)
	}
	if got, err := Resolve(ctx, eng, idHex); err != nil || got != img {
		t.Fatalf("Resolve(bare id) = %v, %v", got, err)
	}
	_, err = Resolve(ctx, eng, "busybox:9")
	if !errdefs.IsNotFound(err) {
		t.Errorf("mismatching image: err = %v, want ErrNotFound", err)
	}
	_, err = Resolve(ctx, eng, "nothere")
	if !errdefs.IsNotFound(err) {
		t.Errorf("absent image: err = %v, want ErrNotFound", err)
	}
}
