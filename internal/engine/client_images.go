package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
)

// InspectImageByRef implements Engine: a name, tag, digest reference or
// image ID, resolved by Docker.
func (c *Client) InspectImageByRef(ctx context.Context, ref string) (*image.InspectResponse, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	r, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		return nil, classify("inspect image "+ref, err)
	}
	return &r.InspectResponse, nil
}

// InspectImageByID implements Engine. Docker would also resolve a tag or
// an ID prefix; only the exact ID (with or without "sha256:") counts here,
// anything else is errdefs.ErrNotFound.
func (c *Client) InspectImageByID(ctx context.Context, id string) (*image.InspectResponse, error) {
	img, err := c.InspectImageByRef(ctx, id)
	if err != nil {
		return nil, err
	}
	if img.ID != id && strings.TrimPrefix(img.ID, "sha256:") != id {
		return nil, classify("inspect image by ID "+id, fmt.Errorf("%s resolves to image %s, not that ID: %w", id, img.ID, errdefs.ErrNotFound))
	}
	return img, nil
}

// ListImages implements Engine.
func (c *Client) ListImages(ctx context.Context, opts ImageListOptions) ([]image.Summary, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	f := client.Filters{}
	if opts.Reference != "" {
		f.Add("reference", opts.Reference)
	}
	r, err := c.api.ImageList(ctx, client.ImageListOptions{All: opts.All, Filters: f})
	if err != nil {
		return nil, classify("list images", err)
	}
	return r.Items, nil
}

// RemoveImage implements Engine.
func (c *Client) RemoveImage(ctx context.Context, ref string, opts ImageRemoveOptions) ([]image.DeleteResponse, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	r, err := c.api.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: opts.Force, PruneChildren: opts.PruneChildren})
	if err != nil {
		return nil, classify("remove image "+ref, err)
	}
	return r.Items, nil
}

// TagImage implements Engine.
func (c *Client) TagImage(ctx context.Context, source, target string) error {
	ctx, cancel := c.short(ctx)
	defer cancel()
	op := "tag image " + source + " as " + target
	// Docker 20.10 answers a malformed target with a 500; check it here.
	if _, err := reference.ParseNormalizedNamed(target); err != nil {
		return &Error{Op: op, Kind: errdefs.ErrInvalidArgument, Err: err}
	}
	_, err := c.api.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target})
	return classify(op, err)
}

// ImageHistory implements Engine.
func (c *Client) ImageHistory(ctx context.Context, id string) ([]image.HistoryResponseItem, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	r, err := c.api.ImageHistory(ctx, id)
	if err != nil {
		return nil, classify("history of image "+id, err)
	}
	return r.Items, nil
}

func errInvalid(msg string) error {
	return fmt.Errorf("%s: %w", msg, errdefs.ErrInvalidArgument)
}
