// Package security checks, against `dockerlet serve` on the real engine,
// what the server must never do: listen on a socket others can use, touch
// containers it did not make, hand out reusable streaming URLs, or write a
// credential into its log.
package security

import (
	"context"
	"encoding/base64"
	"fmt"
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

	"github.com/moby/moby/api/types/container"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
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

// TestForeignContainersUntouchable: a user's running container named and
// labelled like a Kubernetes one is never listed, inspected, stopped,
// exec'd into or removed, by id, id prefix or name, through any RPC.
func TestForeignContainersUntouchable(t *testing.T) {
	e := newEnv(t, "", "", "info")
	ctx := e.ctx
	if err := e.eng.PullImage(ctx, e.busybox, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("k8s_fake_%s-sec-%d_ns_uid_0", prefix, time.Now().UnixNano()%1e9)
	foreign, err := e.eng.CreateContainer(ctx, engine.CreateSpec{
		Name: name,
		Config: &container.Config{Image: e.busybox, Cmd: []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
			Labels: map[string]string{naming.LabelType: naming.TypeContainer, naming.LabelSandboxID: "x"}},
		HostConfig: &container.HostConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.eng.RemoveContainer(context.Background(), foreign, engine.RemoveOptions{Force: true}) })
	if err := e.eng.StartContainer(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	// A pod of the server's own, so that listing has something to list.
	sb, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: prefix + "-sec", Namespace: prefix, Uid: prefix + "-sec-uid"},
		Labels:   map[string]string{"sec": "1"},
	}})
	if err != nil {
		t.Fatal(err)
	}

	// (No shorter prefix: the engine is shared, and a short one could
	// name another test's pod.)
	refs := []string{foreign, foreign[:12], name, "/" + name}
	for _, ref := range refs {
		calls := map[string]func() error{
			"StopPodSandbox": func() error {
				_, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: ref})
				return err
			},
			"RemovePodSandbox": func() error {
				_, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: ref})
				return err
			},
			"PodSandboxStatus": func() error {
				_, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: ref})
				return err
			},
			"PodSandboxStats": func() error {
				_, err := e.rt.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: ref})
				return err
			},
			"PortForward": func() error {
				_, err := e.rt.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: ref, Port: []int32{80}})
				return err
			},
			"StopContainer": func() error {
				_, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ref})
				return err
			},
			"RemoveContainer": func() error {
				_, err := e.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: ref})
				return err
			},
			"StartContainer": func() error {
				_, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ref})
				return err
			},
			"ContainerStatus": func() error {
				_, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ref})
				return err
			},
			"ContainerStats": func() error {
				_, err := e.rt.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: ref})
				return err
			},
			"UpdateContainerResources": func() error {
				_, err := e.rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: ref, Linux: &runtimeapi.LinuxContainerResources{CpuShares: 3}})
				return err
			},
			"ExecSync": func() error {
				_, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ref, Cmd: []string{"touch", "/pwned"}, Timeout: 5})
				return err
			},
			"Exec": func() error {
				_, err := e.rt.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: ref, Cmd: []string{"sh"}, Stdout: true})
				return err
			},
			"Attach": func() error {
				_, err := e.rt.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: ref, Stdout: true})
				return err
			},
			"ReopenContainerLog": func() error {
				_, err := e.rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: ref})
				return err
			},
			"CreateContainer in it": func() error {
				_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: ref, Config: &runtimeapi.ContainerConfig{
					Metadata: &runtimeapi.ContainerMetadata{Name: "x"}, Image: &runtimeapi.ImageSpec{Image: e.busybox}}})
				return err
			},
		}
		for rpc, call := range calls {
			err := call()
			// Stop and Remove of an unknown id succeed (idempotent); all
			// else must not find it.
			if c := status.Code(err); c != codes.OK && c != codes.NotFound && c != codes.InvalidArgument {
				t.Errorf("%s(%q): %v", rpc, ref, err)
			}
			if err == nil && !strings.HasPrefix(rpc, "Stop") && !strings.HasPrefix(rpc, "Remove") {
				t.Errorf("%s(%q) succeeded on a foreign container", rpc, ref)
			}
		}
		if l, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: ref}}); err == nil && len(l.Containers) > 0 {
			t.Errorf("ListContainers(id %q) listed %d", ref, len(l.Containers))
		}
		if l, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{Id: ref}}); err == nil && len(l.Items) > 0 {
			t.Errorf("ListPodSandbox(id %q) listed %d", ref, len(l.Items))
		}
	}
	all, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all.Containers {
		if c.Id == foreign {
			t.Error("ListContainers lists the foreign container")
		}
	}
	sbs, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sbs.Items {
		if s.Id == foreign {
			t.Error("ListPodSandbox lists the foreign container")
		}
	}

	fc, err := e.eng.InspectContainer(ctx, foreign)
	if err != nil {
		t.Fatalf("foreign container gone: %v", err)
	}
	if fc.State == nil || !fc.State.Running {
		t.Errorf("foreign container no longer runs: %+v", fc.State)
	}
	if len(fc.ExecIDs) > 0 {
		t.Errorf("an exec ran in the foreign container: %v", fc.ExecIDs)
	}
	if fc.HostConfig.CPUShares == 3 {
		t.Error("the foreign container's resources were updated")
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.PodSandboxId}); err != nil {
		t.Error(err)
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
