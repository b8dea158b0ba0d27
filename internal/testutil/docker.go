// Package testutil gives integration tests what they need from this
// machine: a reachable Docker daemon (or a clear skip), a registry on
// 127.0.0.1, and test images built FROM scratch with Debian's busybox-static
// (nothing can be pulled from the internet here).
package testutil

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// E2EEnv, when set to 1 (CI sets it), turns a missing Docker into a failure.
const E2EEnv = "DOCKERLET_E2E"

// DockerHost is the daemon endpoint the tests use: DOCKER_HOST or the
// default unix socket.
func DockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// RequireDocker skips the test when no Docker daemon answers, with a
// message that says so, unless DOCKERLET_E2E=1 — then it fails: in CI the
// integration tests must run.
func RequireDocker(t testing.TB) {
	t.Helper()
	if testing.Short() && os.Getenv(E2EEnv) != "1" {
		t.Skip("integration test: skipped in -short mode")
	}
	if err := pingDocker(DockerHost()); err != nil {
		if os.Getenv(E2EEnv) == "1" {
			t.Fatalf("integration test needs Docker (DOCKERLET_E2E=1): %v", err)
		}
		t.Skipf("integration test skipped: no Docker daemon at %s (%v); run ./scripts/deps.sh or set DOCKER_HOST", DockerHost(), err)
	}
}

func pingDocker(host string) error {
	u, err := url.Parse(host)
	if err != nil {
		return err
	}
	tr := &http.Transport{}
	base := "http://docker"
	switch u.Scheme {
	case "unix":
		path := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return &url.Error{Op: "ping", URL: host, Err: errUnsupportedScheme}
	}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/_ping")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &url.Error{Op: "ping", URL: host, Err: errBadStatus(resp.Status)}
	}
	return nil
}

type errBadStatus string

func (e errBadStatus) Error() string { return "daemon answered " + string(e) }

var errUnsupportedScheme = errBadStatus("unsupported scheme (want unix:// or tcp://)")

// TrimHost strips the scheme of a registry address ("http://127.0.0.1:1234"
// → "127.0.0.1:1234").
func TrimHost(addr string) string {
	addr = strings.TrimPrefix(addr, "http://")
	return strings.TrimPrefix(addr, "https://")
}
