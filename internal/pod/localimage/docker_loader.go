package localimage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/client"
)

// DockerLoader loads images through Docker's POST /images/load. The
// engine interface has no load call yet; this is the one place that
// talks to Docker directly for it.
type DockerLoader struct {
	Client *client.Client
}

// NewDockerLoader connects to endpoint ("" means Docker's environment).
func NewDockerLoader(endpoint string) (*DockerLoader, error) {
	opts := []client.Opt{client.FromEnv}
	if endpoint != "" {
		opts = append(opts, client.WithHost(endpoint))
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, err
	}
	return &DockerLoader{Client: c}, nil
}

// Close releases the client.
func (l *DockerLoader) Close() error { return l.Client.Close() }

// LoadImage streams a `docker save` tarball into Docker and reports the
// error Docker puts in its progress stream, if any.
func (l *DockerLoader) LoadImage(ctx context.Context, r io.Reader) error {
	res, err := l.Client.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return err
	}
	defer res.Close()
	dec := json.NewDecoder(res)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("image load: reading Docker's answer: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("image load: %s", msg.Error)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return fmt.Errorf("image load: %s", msg.ErrorDetail.Message)
		}
	}
}
