package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ListContainers implements Engine. The answer is decoded one container
// at a time as it arrives: the moby client reads a listing whole into a
// buffer that doubles as it fills before decoding it, and at a few hundred
// pods that is a megabyte of JSON and twice that in buffers, once a minute
// for the cache's resync.
func (c *Client) ListContainers(ctx context.Context, opts ListOptions) ([]container.Summary, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	f := client.Filters{}
	if len(opts.Labels) > 0 {
		f.Add("label", opts.Labels...)
	}
	if len(opts.IDs) > 0 {
		f.Add("id", opts.IDs...)
	}
	if len(opts.Names) > 0 {
		f.Add("name", opts.Names...)
	}
	if len(opts.Status) > 0 {
		f.Add("status", opts.Status...)
	}
	q := url.Values{}
	if opts.All {
		q.Set("all", "1")
	}
	if len(f) > 0 {
		b, err := json.Marshal(f)
		if err != nil {
			return nil, classify("list containers", err)
		}
		q.Set("filters", string(b))
	}
	body, err := c.rawGet(ctx, "/containers/json", q, listBufSize)
	if err != nil {
		return nil, c.classifyCall(ctx, "list containers", err)
	}
	defer body.Close()
	list, err := decodeList(body)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		} else {
			err = fmt.Errorf("%w: %w", errdefs.ErrUnavailable, err)
		}
		return nil, c.classifyCall(ctx, "list containers", err)
	}
	return list, nil
}

// listBufSize is the read buffer of a listing's connection.
const listBufSize = 16 << 10

// decodeList decodes a JSON array of containers (or null) element by
// element, so the decoder holds one container's JSON at a time.
func decodeList(r io.Reader) ([]container.Summary, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("decode listing: %w", err)
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("decode listing: want an array, got %v", tok)
	}
	var out []container.Summary
	for dec.More() {
		out = append(out, container.Summary{})
		if err := dec.Decode(&out[len(out)-1]); err != nil {
			return nil, fmt.Errorf("decode listing: container %d: %w", len(out), err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("decode listing: %w", err)
	}
	return out, nil
}

// InspectContainer implements Engine.
func (c *Client) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	r, err := c.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, c.classifyCall(ctx, "inspect container "+id, err)
	}
	return &r.Container, nil
}

// CreateContainer implements Engine.
func (c *Client) CreateContainer(ctx context.Context, spec CreateSpec) (string, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	if spec.Config == nil {
		return "", classify("create container "+spec.Name, errInvalid("a container config is required"))
	}
	r, err := c.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:             spec.Name,
		Config:           spec.Config,
		HostConfig:       spec.HostConfig,
		NetworkingConfig: spec.Networking,
	})
	if err != nil {
		return "", c.classifyCall(ctx, "create container "+spec.Name, err)
	}
	for _, w := range r.Warnings {
		c.log.Debug("docker create warning", "name", spec.Name, "warning", w)
	}
	return r.ID, nil
}

// StartContainer implements Engine.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	ctx, cancel := c.short(ctx)
	defer cancel()
	_, err := c.api.ContainerStart(ctx, id, client.ContainerStartOptions{})
	return c.classifyCall(ctx, "start container "+id, err)
}

// StopContainer implements Engine. The request timeout is stretched by
// the stop timeout: Docker answers only after the container stopped.
func (c *Client) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout+timeout)
	defer cancel()
	secs := int(math.Ceil(timeout.Seconds()))
	if timeout < 0 {
		secs = 0
	}
	_, err := c.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs})
	return c.classifyCall(ctx, "stop container "+id, err)
}

// KillContainer implements Engine; an empty signal means SIGKILL.
func (c *Client) KillContainer(ctx context.Context, id, signal string) error {
	ctx, cancel := c.short(ctx)
	defer cancel()
	_, err := c.api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: signal})
	return c.classifyCall(ctx, "kill container "+id, err)
}

// RemoveContainer implements Engine.
func (c *Client) RemoveContainer(ctx context.Context, id string, opts RemoveOptions) error {
	ctx, cancel := c.short(ctx)
	defer cancel()
	_, err := c.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: opts.Force, RemoveVolumes: opts.RemoveVolumes})
	return c.classifyCall(ctx, "remove container "+id, err)
}

// UpdateContainerResources implements Engine.
func (c *Client) UpdateContainerResources(ctx context.Context, id string, res container.Resources) error {
	ctx, cancel := c.short(ctx)
	defer cancel()
	r, err := c.api.ContainerUpdate(ctx, id, client.ContainerUpdateOptions{Resources: &res})
	if err != nil {
		return classify("update container "+id, err)
	}
	for _, w := range r.Warnings {
		c.log.Debug("docker update warning", "id", id, "warning", w)
	}
	return nil
}

// ContainerLogs implements Engine. For a container without a TTY the
// stream is Docker's multiplexed format (read it with stdcopy.StdCopy);
// with a TTY it is raw. It is bounded by ctx, not the request timeout.
func (c *Client) ContainerLogs(ctx context.Context, id string, opts LogsOptions) (io.ReadCloser, error) {
	if rc, ok, err := c.followLogs(ctx, id, opts); ok {
		return rc, err
	}
	r, err := c.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{
		ShowStdout: opts.Stdout,
		ShowStderr: opts.Stderr,
		Follow:     opts.Follow,
		Timestamps: opts.Timestamps,
		Since:      opts.Since,
		Until:      opts.Until,
		Tail:       opts.Tail,
	})
	if err != nil {
		return nil, classify("logs of container "+id, err)
	}
	return r, nil
}

// ResizeContainerTTY implements Engine.
func (c *Client) ResizeContainerTTY(ctx context.Context, id string, height, width uint) error {
	ctx, cancel := c.short(ctx)
	defer cancel()
	_, err := c.api.ContainerResize(ctx, id, client.ContainerResizeOptions{Height: height, Width: width})
	return classify("resize container "+id, err)
}
