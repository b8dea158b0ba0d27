// Package open turns a --docker-endpoint value into an engine: "fake://"
// gives the in-memory fake (for demos and tests), anything else the Docker
// client. It lives apart from package engine because the fake imports
// engine.
package open

import (
	"strings"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

// FakeScheme selects the in-memory engine.
const FakeScheme = "fake://"

// Engine returns the engine for endpoint and a function that releases it.
// An empty endpoint means Docker's environment (DOCKER_HOST, …). The fake
// lets every pull succeed, so that a demo can run pods.
func Engine(endpoint string, opts engine.Options) (engine.Engine, func() error, error) {
	if strings.HasPrefix(endpoint, FakeScheme) {
		f := fake.New()
		f.AllowAllPulls()
		return f, func() error { return nil }, nil
	}
	c, err := engine.Connect(endpoint, opts)
	if err != nil {
		return nil, nil, err
	}
	return c, c.Close, nil
}
