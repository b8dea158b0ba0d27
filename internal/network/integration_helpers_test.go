package network_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// integrationEnv is a real dockerd with the busybox test image pulled.
type integrationEnv struct {
	eng   engine.Engine
	image string
}

func newIntegrationEnv(t *testing.T) *integrationEnv {
	t.Helper()
	eng := enginetest.Connect(t, engine.Options{})
	reg := testutil.StartRegistry(t)
	ref := reg.PushBusybox(t, "dltnet/busybox:1", testutil.ImageOptions{Marker: "dltnet"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := eng.PullImage(ctx, ref, engine.PullOptions{}); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	// Registered before any container's removal, so it runs after them.
	t.Cleanup(func() {
		if _, err := eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{}); err != nil {
			t.Logf("cleanup: remove image %s: %v", ref, err)
		}
	})
	return &integrationEnv{eng: eng, image: ref}
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// run creates and starts a container from spec (name and image filled in)
// and removes it when the test ends. It returns the id and the pid.
func (e *integrationEnv) run(t *testing.T, spec engine.CreateSpec, cmd ...string) (string, int) {
	t.Helper()
	ctx := context.Background()
	if spec.Config == nil {
		spec.Config = &container.Config{}
	}
	spec.Config.Image = e.image
	spec.Config.Cmd = cmd
	id, err := e.eng.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatalf("create %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		_ = e.eng.RemoveContainer(context.Background(), id, engine.RemoveOptions{Force: true})
	})
	if err := e.eng.StartContainer(ctx, id); err != nil {
		t.Fatalf("start %s: %v", spec.Name, err)
	}
	ins, err := e.eng.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ins.State == nil || ins.State.Pid == 0 {
		t.Fatalf("%s is not running: %+v", spec.Name, ins.State)
	}
	return id, ins.State.Pid
}

// exec runs cmd in the container and returns its combined output and exit code.
func (e *integrationEnv) exec(t *testing.T, id string, cmd ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	execID, err := e.eng.CreateExec(ctx, id, engine.ExecConfig{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	var out bytes.Buffer
	if err := e.eng.StartExec(ctx, execID, engine.Streams{Stdout: &out, Stderr: &out}); err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	ins, err := e.eng.InspectExec(ctx, execID)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), ins.ExitCode
}

// eventually retries f until it returns nil or the deadline passes: servers
// in fresh containers take a moment to listen.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func httpGet(url string) (string, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// httpdCmd serves body on port 80 from a fresh docroot.
func httpdCmd(body string) []string {
	return []string{"sh", "-c", "mkdir -p /tmp/www && echo " + body + " > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www"}
}

// hostCmd runs a host command (ip, iptables-save) for state checks.
func hostCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
