package security

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/test/serveproc"
)

// flood opens n connections to addr; every other one sends a request for
// an unknown URL (404) and stays. It returns them, still open on its side.
func flood(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("flood %s: connection %d: %v", addr, i, err)
		}
		if i%2 == 1 {
			_, _ = io.WriteString(c, "GET /exec/nosuchtoken HTTP/1.1\r\nHost: x\r\n\r\n")
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// stillOpen counts the connections the server has not closed by deadline.
func stillOpen(conns []net.Conn, deadline time.Time) int {
	closed, _ := watchClose(conns, time.Now(), time.Until(deadline))()
	return len(conns) - closed
}

// TestListenerFloodSparesTheCRISocket: any local user can connect to the
// streaming and metrics ports. A flood of idle connections there — more
// than the server's open-file limit allows — must leave the CRI socket
// working (Version and a whole pod lifecycle), and the server must close
// the idle connections by itself. Before, 420 connections on the
// streaming port with the limit at 400 made the CRI socket fail
// ("accept4: too many open files") and idle connections stayed for good.
func TestListenerFloodSparesTheCRISocket(t *testing.T) {
	const openFiles = 400
	streamAddr, metricsAddr := serveproc.FreeAddr(t), serveproc.FreeAddr(t)
	e := newEnvWith(t, "", "", func(o *serveproc.Options) {
		o.OpenFiles = openFiles
		o.Args = []string{"--streaming-bind-addr", streamAddr, "--metrics-bind-addr", metricsAddr, "--http-idle-timeout", "5s"}
	})
	ctx := e.ctx
	start := time.Now()
	conns := append(flood(t, streamAddr, 600), flood(t, metricsAddr, 200)...)
	t.Logf("%d connections opened in %v", len(conns), time.Since(start).Round(time.Millisecond))
	closedBy := watchClose(conns, start, 60*time.Second)

	if _, err := e.rt.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("Version during the flood: %v", err)
	}
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		t.Fatalf("PullImage during the flood: %v", err)
	}
	podLifecycle(ctx, t, e, "flood")

	// The idle timeout is 5 s: every connection goes well within 60 s.
	closed, last := closedBy()
	t.Logf("%d of %d flood connections closed by the server, the last after %v", closed, len(conns), last.Round(100*time.Millisecond))
	if closed < len(conns) {
		t.Errorf("%d of %d flood connections still open after 60 s", len(conns)-closed, len(conns))
	}
	if _, err := e.rt.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("Version after the flood: %v", err)
	}
	log, _ := os.ReadFile(e.srv.LogPath)
	if strings.Contains(string(log), "too many open files") {
		t.Errorf("the server ran out of file descriptors:\n%s", grepLines(string(log), "too many open files", 5))
	}
	if !strings.Contains(string(log), "connection cap reached") {
		t.Errorf("no connection was refused for the cap: the flood did not test it")
	}
}

// podLifecycle runs a pod with one container through its whole life.
func podLifecycle(ctx context.Context, t *testing.T, e *env, name string) {
	t.Helper()
	cfg := &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: prefix + "-" + name, Namespace: prefix, Uid: prefix + "-" + name + "-uid"}}
	sb, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	c, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: cfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: e.busybox},
		Command: []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
	}})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	steps := []struct {
		name string
		call func() error
	}{
		{"StartContainer", func() error {
			_, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId})
			return err
		}},
		{"ExecSync", func() error {
			r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: c.ContainerId, Cmd: []string{"echo", "ok"}, Timeout: 10})
			if err == nil && (r.ExitCode != 0 || strings.TrimSpace(string(r.Stdout)) != "ok") {
				err = fmt.Errorf("exit %d, stdout %q", r.ExitCode, r.Stdout)
			}
			return err
		}},
		{"StopContainer", func() error {
			_, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: c.ContainerId, Timeout: 5})
			return err
		}},
		{"RemoveContainer", func() error {
			_, err := e.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: c.ContainerId})
			return err
		}},
		{"StopPodSandbox", func() error {
			_, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.PodSandboxId})
			return err
		}},
		{"RemovePodSandbox", func() error {
			_, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.PodSandboxId})
			return err
		}},
	}
	for _, s := range steps {
		if err := s.call(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
}

func grepLines(s, sub string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
			if len(out) == n {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestCRISocketBounded: the CRI socket caps its connections too, and one
// that never speaks HTTP/2 is closed after the handshake timeout; a client
// already connected keeps working throughout.
func TestCRISocketBounded(t *testing.T) {
	e := newEnvWith(t, "", "", func(o *serveproc.Options) { o.Args = []string{"--cri-max-connections", "8"} })
	ctx := e.ctx
	if _, err := e.rt.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var raw []net.Conn
	for range 20 {
		c, err := net.Dial("unix", e.srv.Socket)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		raw = append(raw, c)
	}
	// 7 places were free (the client holds one): the rest are closed at once.
	if n := stillOpen(raw, time.Now().Add(2*time.Second)); n > 7 {
		t.Errorf("%d raw connections open, want at most 7 (the cap is 8)", n)
	}
	if _, err := e.rt.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Errorf("Version with the cap reached: %v", err)
	}
	if n := stillOpen(raw, start.Add(60*time.Second)); n > 0 {
		t.Errorf("%d raw connections without an HTTP/2 handshake still open after 60 s", n)
	}
	if _, err := e.rt.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Errorf("Version after: %v", err)
	}
}
