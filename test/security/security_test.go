// Package security checks, against `dockerlet serve` on the real engine,
// what the server must never do: listen on a socket others can use, touch
// containers it did not make, hand out reusable streaming URLs, or write a
// credential into its log.
package security

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

const prefix = "dltrob"

type env struct {
	t       *testing.T
	ctx     context.Context
	eng     *engine.Client
	reg     *testutil.Registry
	busybox string
	pause   string
	srv     *serveproc.Server
	rt      runtimeapi.RuntimeServiceClient
	img     runtimeapi.ImageServiceClient
}

func workDir(t *testing.T, name string) string {
	t.Helper()
	if err := os.MkdirAll("/tmp/dltrob", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp/dltrob", name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// newEnv starts a registry (with basic auth when user != "") and a server
// logging at logLevel.
func newEnv(t *testing.T, user, password, logLevel string, args ...string) *env {
	t.Helper()
	return newEnvWith(t, user, password, func(o *serveproc.Options) { o.LogLevel, o.Args = logLevel, args })
}

// newEnvWith is newEnv with the server's options set by configure.
func newEnvWith(t *testing.T, user, password string, configure func(*serveproc.Options)) *env {
	t.Helper()
	testutil.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	eng, err := engine.Connect(testutil.DockerHost(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	var opts []testutil.RegistryOption
	if user != "" {
		opts = append(opts, testutil.WithBasicAuth(user, password))
	}
	e := &env{t: t, ctx: ctx, eng: eng, reg: testutil.StartRegistry(t, opts...)}
	e.busybox = e.reg.PushBusybox(t, prefix+"/busybox:sec", testutil.ImageOptions{Marker: prefix + "-sec"})
	e.pause = e.reg.PushBusybox(t, prefix+"/pause:sec", testutil.ImageOptions{
		Marker: prefix + "-sec-pause", Cmd: []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
	})
	t.Cleanup(func() {
		for _, ref := range []string{e.busybox, e.pause} {
			_, _ = eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
		}
	})
	sopts := serveproc.Options{Dir: workDir(t, "sec"), PauseImage: e.pause}
	configure(&sopts)
	e.srv = serveproc.New(t, sopts)
	if err := e.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.srv.Stop)
	t.Cleanup(func() { serveproc.RemoveOwn(eng, e.srv.Root) })
	conn, err := e.srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e.rt, e.img = runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
	return e
}

// TestSocketPermissions: the CRI socket is 0660, and a socket directory
// anyone can write to is refused (anyone could swap the socket).
func TestSocketPermissions(t *testing.T) {
	testutil.RequireDocker(t)
	ctx := context.Background()
	srv := serveproc.New(t, serveproc.Options{Dir: workDir(t, "sock"), PauseImage: "unused:1"})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(srv.Socket)
	srv.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", st.Mode())
	}

	// --socket-group hands the socket to a group (its members may use it).
	if g, err := user.LookupGroup("daemon"); err == nil {
		grp := serveproc.New(t, serveproc.Options{Dir: workDir(t, "sockgrp"), PauseImage: "unused:1", Args: []string{"--socket-group", "daemon"}})
		if err := grp.Start(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(grp.Socket)
		grp.Stop()
		if err != nil {
			t.Fatal(err)
		}
		if gid := strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Gid)); gid != g.Gid || st.Mode().Perm() != 0o660 {
			t.Errorf("socket group %s mode %v, want group %s (daemon) and 0660", gid, st.Mode().Perm(), g.Gid)
		}
	}

	open := workDir(t, "sockopen")
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	bad := serveproc.New(t, serveproc.Options{Dir: open, PauseImage: "unused:1"})
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := bad.Start(sctx); err == nil {
		bad.Stop()
		t.Fatal("the server served from a world-writable directory")
	}
	log, _ := os.ReadFile(bad.LogPath)
	if !strings.Contains(string(log), "world-writable") {
		t.Errorf("refusal does not say why:\n%s", log)
	}
	if _, err := os.Stat(bad.Socket); err == nil {
		t.Error("a socket was created in the world-writable directory")
	}
}

// TestStreamingURLs: exec URLs point at 127.0.0.1, carry 256 random bits,
// differ every time and work once.
func TestStreamingURLs(t *testing.T) {
	e := newEnv(t, "", "", "info")
	ctx := e.ctx
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		t.Fatal(err)
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: prefix + "-stream", Namespace: prefix, Uid: prefix + "-stream-uid"},
	}
	sb, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer e.rt.RemovePodSandbox(context.Background(), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.PodSandboxId})
	c, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: cfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: e.busybox},
		Command: []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var first string
	for i := 0; i < 5; i++ {
		resp, err := e.rt.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: c.ContainerId, Cmd: []string{"true"}, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(resp.Url)
		if err != nil {
			t.Fatal(err)
		}
		if h := u.Hostname(); h != "127.0.0.1" && h != "::1" {
			t.Errorf("streaming URL on %s, want loopback", h)
		}
		token := u.Path[strings.LastIndexByte(u.Path, '/')+1:]
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) < 32 {
			t.Errorf("token %q: %d bytes (%v), want ≥ 32 random bytes", token, len(raw), err)
		}
		if seen[token] {
			t.Errorf("token %q handed out twice", token)
		}
		seen[token] = true
		first = resp.Url
	}
	for i, want := range []bool{false, true} {
		r, err := http.Post(first, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if got := r.StatusCode == http.StatusNotFound; got != want {
			t.Errorf("use %d of a streaming URL: status %d", i+1, r.StatusCode)
		}
	}
}

// TestNoCredentialInLogs: an authenticated pull, by password and by auth
// string, plus a failing one, at debug level: neither the password nor the
// base64 auth appear in the server's log. Nor does a container's env value.
func TestNoCredentialInLogs(t *testing.T) {
	const user, password = "dltrob-user", "s3cr3t-dltrob-Pa55"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := l.Addr().String()
	l.Close()
	e := newEnv(t, user, password, "debug", "--metrics-bind-addr", metricsAddr)
	ctx := e.ctx
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	for name, a := range map[string]*runtimeapi.AuthConfig{
		"password": {Username: user, Password: password, ServerAddress: e.reg.Host},
		"auth":     {Auth: auth, ServerAddress: e.reg.Host},
	} {
		if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}, Auth: a}); err != nil {
			t.Errorf("authenticated pull by %s: %v", name, err)
		}
		_, _ = e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}})
	}
	wrong := base64.StdEncoding.EncodeToString([]byte(user + ":" + password + "-wrong"))
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}, Auth: &runtimeapi.AuthConfig{Auth: wrong}}); err == nil {
		t.Error("a pull with a wrong password succeeded")
	}
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err == nil {
		t.Error("an anonymous pull from an authenticated registry succeeded")
	}
	// Env values come from Secrets, and $(VAR) references to them are
	// expanded into the command and arguments before the CRI sees them;
	// the create request is logged at debug.
	_, _ = e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}, Auth: &runtimeapi.AuthConfig{Auth: auth}})
	_, _ = e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: strings.Repeat("0", 64), Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: e.busybox},
		Envs:    []*runtimeapi.KeyValue{{Key: "DB_PASSWORD", Value: []byte(password)}},
		Command: []string{"sh", "-c", "login --password=" + password},
		Args:    []string{"--token", password},
	}})
	_, _ = e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}})
	// The metrics listener tells no secret either.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "# HELP") {
		t.Errorf("no metrics served:\n%.500s", metrics)
	}
	for _, secret := range []string{password, auth, wrong} {
		if strings.Contains(string(metrics), secret) {
			t.Errorf("credential in /metrics")
		}
	}
	e.srv.Stop()

	log, err := os.ReadFile(e.srv.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "level=DEBUG") || !strings.Contains(string(log), "PullImage") {
		t.Fatalf("the log has no debug lines of the pulls; nothing was checked:\n%.2000s", log)
	}
	for _, secret := range []string{password, auth, wrong, base64.StdEncoding.EncodeToString([]byte(password))} {
		if strings.Contains(string(log), secret) {
			for _, line := range strings.Split(string(log), "\n") {
				if strings.Contains(line, secret) {
					t.Errorf("credential in the log: %.300s", line)
				}
			}
		}
	}
	t.Logf("%d log bytes checked (%s)", len(log), filepath.Base(e.srv.LogPath))
}
