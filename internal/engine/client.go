package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// Defaults for Options.
const (
	DefaultRequestTimeout       = 2 * time.Minute
	DefaultPullProgressDeadline = time.Minute
)

// Options configure Connect.
type Options struct {
	// RequestTimeout bounds every short call (inspect, create, start, …).
	// Streams, pulls and events are bounded by their context instead.
	RequestTimeout time.Duration
	// PullProgressDeadline cancels a pull that reports no progress for
	// this long.
	PullProgressDeadline time.Duration
	// Logger receives debug lines; nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.PullProgressDeadline <= 0 {
		o.PullProgressDeadline = DefaultPullProgressDeadline
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Client is the Engine implemented over Docker's HTTP API with the moby
// client. The API version is negotiated on first use, so Docker 20.10
// (API 1.41) and current engines both work; DOCKER_API_VERSION pins it.
type Client struct {
	api  *client.Client
	opts Options
	log  *slog.Logger
}

var _ Engine = (*Client)(nil)

// Connect returns a Client for endpoint ("unix:///var/run/docker.sock",
// "tcp://host:2376", …). An empty endpoint means Docker's environment:
// DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_API_VERSION,
// falling back to the default socket. Connect does not contact the
// daemon; the first call does.
func Connect(endpoint string, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	var copts []client.Opt
	if endpoint == "" {
		copts = append(copts, client.FromEnv)
	} else {
		scheme, _, ok := strings.Cut(endpoint, "://")
		switch {
		case !ok:
			return nil, fmt.Errorf("docker endpoint %q: want a URL such as unix:///var/run/docker.sock or tcp://host:2375: %w", endpoint, errdefs.ErrInvalidArgument)
		case scheme != "unix" && scheme != "tcp" && scheme != "npipe" && scheme != "http" && scheme != "https":
			return nil, fmt.Errorf("docker endpoint %q: unsupported scheme %q (want unix, tcp, npipe, http or https): %w", endpoint, scheme, errdefs.ErrInvalidArgument)
		}
		copts = append(copts,
			client.WithTLSClientConfigFromEnv(),
			client.WithHost(endpoint),
			client.WithAPIVersionFromEnv(),
		)
	}
	api, err := client.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker endpoint %q: %w: %w", endpoint, errdefs.ErrInvalidArgument, err)
	}
	return &Client{api: api, opts: opts, log: opts.Logger}, nil
}

// Close releases idle connections.
func (c *Client) Close() error { return c.api.Close() }

// Endpoint is the daemon address in use.
func (c *Client) Endpoint() string { return c.api.DaemonHost() }

// short bounds a call by the request timeout.
func (c *Client) short(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.opts.RequestTimeout)
}

// Version implements Engine. APIVersion is the negotiated version this
// client speaks; ServerAPI the daemon's own.
func (c *Client) Version(ctx context.Context) (*Version, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	v, err := c.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return nil, classify("version", err)
	}
	out := &Version{
		Version:       v.Version,
		APIVersion:    c.api.ClientVersion(),
		ServerAPI:     v.APIVersion,
		MinAPIVersion: v.MinAPIVersion,
		Os:            v.Os,
		Arch:          v.Arch,
	}
	for _, comp := range v.Components {
		if k := comp.Details["KernelVersion"]; k != "" {
			out.KernelVersion = k
		}
	}
	return out, nil
}

// Info implements Engine.
func (c *Client) Info(ctx context.Context) (*system.Info, error) {
	ctx, cancel := c.short(ctx)
	defer cancel()
	r, err := c.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, classify("info", err)
	}
	return &r.Info, nil
}
