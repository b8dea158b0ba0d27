package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/streaming/streamtest"
)

// wirePrefix names the pods of the streaming and networking tests.
const wirePrefix = "dltwire"

// streamTransports are the two protocols the kubelet and crictl speak.
var streamTransports = streamtest.Transports

// wirePod is a sandbox config named with wirePrefix; the test removes it.
func (e *env) wirePod(name string, ports ...*runtimeapi.PortMapping) *runtimeapi.PodSandboxConfig {
	cfg := e.sandboxConfig(name)
	cfg.Metadata = &runtimeapi.PodSandboxMetadata{Name: wirePrefix + "-" + name, Namespace: wirePrefix + "-ns", Uid: wirePrefix + "-" + name + "-uid"}
	cfg.Hostname = wirePrefix + "-" + name
	cfg.Labels = map[string]string{"test": wirePrefix, "pod": name}
	cfg.PortMappings = ports
	return cfg
}

// runPod runs a sandbox and removes it when the test ends.
func (e *env) runPod(ctx context.Context, cfg *runtimeapi.PodSandboxConfig) string {
	e.t.Helper()
	resp, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		e.t.Fatalf("RunPodSandbox %s: %v", cfg.Metadata.Name, err)
	}
	id := resp.PodSandboxId
	e.t.Cleanup(func() {
		if e.srv == nil {
			return // the env's own cleanup restarts and removes
		}
		if _, err := e.rt.RemovePodSandbox(context.Background(), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			e.t.Logf("cleanup: remove %s: %v", id, err)
		}
	})
	return id
}

// runIn creates and starts a container running cmd in the sandbox.
func (e *env) runIn(ctx context.Context, sb string, sbCfg *runtimeapi.PodSandboxConfig, name string, cmd ...string) string {
	e.t.Helper()
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		e.t.Fatalf("PullImage: %v", err)
	}
	created, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, SandboxConfig: sbCfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: name},
			Image:    &runtimeapi.ImageSpec{Image: e.busybox},
			Command:  cmd,
			LogPath:  name + ".log",
		}})
	if err != nil {
		e.t.Fatalf("CreateContainer %s: %v", name, err)
	}
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
		e.t.Fatalf("StartContainer %s: %v", name, err)
	}
	return created.ContainerId
}

// podIP is the sandbox's primary IP.
func (e *env) podIP(ctx context.Context, sb string) string {
	e.t.Helper()
	st, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb})
	if err != nil {
		e.t.Fatal(err)
	}
	if st.Status.GetNetwork().GetIp() == "" {
		e.t.Fatalf("sandbox %s has no IP", sb)
	}
	return st.Status.Network.Ip
}

// httpdCmd serves body on port from a fresh docroot.
func httpdCmd(port int, body string) []string {
	return []string{"sh", "-c", fmt.Sprintf("mkdir -p /tmp/www && echo %s > /tmp/www/index.html && exec httpd -f -p %d -h /tmp/www", body, port)}
}

// eventually retries f until it returns nil or 30 s pass: servers in fresh
// containers take a moment to listen.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
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

// httpGetBody fetches url and checks that the body contains want.
func httpGetBody(url, want string) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
		return fmt.Errorf("GET %s: %s %q, want %q", url, resp.Status, b, want)
	}
	return nil
}

// freeHostPort returns a TCP port that was free a moment ago.
func freeHostPort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}
