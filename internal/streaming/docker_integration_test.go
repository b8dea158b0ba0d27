package streaming

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"k8s.io/client-go/tools/remotecommand"
	clientexec "k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
	"github.com/dockerlet/dockerlet/internal/streaming/streamtest"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// Integration tests against the real dockerd; everything they create is
// named with the "dltstr" prefix.

type dockerEnv struct {
	eng   *engine.Client
	image string
}

func setupDocker(t *testing.T) *dockerEnv {
	t.Helper()
	eng := enginetest.Connect(t, engine.Options{})
	reg := testutil.StartRegistry(t)
	ref := reg.PushBusybox(t, "dltstr/busybox:latest", testutil.ImageOptions{Marker: "dltstr"})
	if err := eng.PullImage(testContext(t), ref, engine.PullOptions{}); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	t.Cleanup(func() {
		_, _ = eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true})
	})
	return &dockerEnv{eng: eng, image: ref}
}

// run starts a container (own network namespace on Docker's default
// bridge) and removes it when the test ends.
func (d *dockerEnv) run(t *testing.T, cfg container.Config) string {
	t.Helper()
	ctx := testContext(t)
	cfg.Image = d.image
	name := fmt.Sprintf("dltstr-%s-%d", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), time.Now().UnixNano()%1e6)
	id, err := d.eng.CreateContainer(ctx, engine.CreateSpec{Name: name, Config: &cfg, HostConfig: &container.HostConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.eng.RemoveContainer(context.Background(), id, engine.RemoveOptions{Force: true})
	})
	if err := d.eng.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// netnsResolver maps sandbox ids (here: container ids) to their netns.
type netnsResolver struct{ eng engine.Engine }

func (r netnsResolver) SandboxNetNS(ctx context.Context, id string) (string, error) {
	info, err := r.eng.InspectContainer(ctx, id)
	if err != nil {
		return "", err
	}
	if info.State == nil || info.State.Pid == 0 {
		return "", fmt.Errorf("sandbox %s is not running", id)
	}
	return fmt.Sprintf("/proc/%d/ns/net", info.State.Pid), nil
}

func TestDocker(t *testing.T) {
	d := setupDocker(t)
	s, err := New(d.eng, netnsResolver{d.eng}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sleeper := d.run(t, container.Config{Cmd: []string{"sleep", "3600"}})

	t.Run("ExecNoTTY", func(t *testing.T) {
		for _, tr := range transports {
			t.Run(tr, func(t *testing.T) {
				resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: sleeper,
					Cmd: []string{"sh", "-c", "read line; echo out:$line; echo err >&2; exit 3"}, Stdin: true, Stdout: true, Stderr: true})
				if err != nil {
					t.Fatal(err)
				}
				var stdout, stderr bytes.Buffer
				err = streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{
					Stdin: strings.NewReader("hello\n"), Stdout: &stdout, Stderr: &stderr,
				})
				var exitErr clientexec.CodeExitError
				if !errors.As(err, &exitErr) || exitErr.Code != 3 {
					t.Fatalf("err = %v, want exit code 3", err)
				}
				if stdout.String() != "out:hello\n" || stderr.String() != "err\n" {
					t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
				}
			})
		}
	})

	t.Run("ExecTTYResize", func(t *testing.T) {
		for _, tr := range transports {
			t.Run(tr, func(t *testing.T) {
				resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: sleeper, Cmd: []string{"sh"}, Stdin: true, Stdout: true, Tty: true})
				if err != nil {
					t.Fatal(err)
				}
				sizes := make(streamtest.SizeQueue, 1)
				sizes <- remotecommand.TerminalSize{Width: 123, Height: 45}
				defer close(sizes)
				stdinR, stdinW := io.Pipe()
				defer stdinW.Close()
				var stdout enginetest.SyncBuffer
				done := make(chan error, 1)
				go func() {
					done <- streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{
						Stdin: stdinR, Stdout: &stdout, Tty: true, TerminalSizeQueue: sizes,
					})
				}()
				// The resize races the shell's start; ask until the shell sees it.
				deadline := time.Now().Add(30 * time.Second)
				for !strings.Contains(stdout.String(), "45 123") {
					if time.Now().After(deadline) {
						t.Fatalf("the process never saw the resize; output %q", stdout.String())
					}
					io.WriteString(stdinW, "stty size\n")
					time.Sleep(200 * time.Millisecond)
				}
				io.WriteString(stdinW, "exit 0\n")
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("session: %v", err)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("session did not end after exit")
				}
			})
		}
	})

	t.Run("Attach", func(t *testing.T) {
		for _, tr := range transports {
			t.Run(tr, func(t *testing.T) {
				id := d.run(t, container.Config{Cmd: []string{"sh"}, OpenStdin: true, AttachStdin: true})
				resp, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: id, Stdin: true, Stdout: true, Stderr: true})
				if err != nil {
					t.Fatal(err)
				}
				stdinR, stdinW := io.Pipe()
				defer stdinW.Close()
				var stdout, stderr enginetest.SyncBuffer
				done := make(chan error, 1)
				go func() {
					done <- streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{
						Stdin: stdinR, Stdout: &stdout, Stderr: &stderr,
					})
				}()
				// The attach may start after the first line: repeat until seen.
				deadline := time.Now().Add(30 * time.Second)
				for !strings.Contains(stdout.String(), "attached") {
					if time.Now().After(deadline) {
						t.Fatalf("no output through attach; stdout %q", stdout.String())
					}
					io.WriteString(stdinW, "echo attached; echo warn >&2\n")
					time.Sleep(200 * time.Millisecond)
				}
				io.WriteString(stdinW, "exit 0\n")
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("session: %v", err)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("attach did not end when the container exited")
				}
				if !strings.Contains(stderr.String(), "warn") || strings.Contains(stdout.String(), "warn") {
					t.Fatalf("stdout %q stderr %q: want the streams kept apart", stdout.String(), stderr.String())
				}
			})
		}
	})

	t.Run("PortForwardIntoNetNS", func(t *testing.T) {
		// httpd listens on the container's loopback only: reachable only
		// from inside its network namespace.
		web := d.run(t, container.Config{Cmd: []string{"sh", "-c",
			"mkdir -p /www && echo hello-dltstr > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"}})
		// Wait for httpd: client-go ends the whole session when one
		// forwarded connection fails.
		deadline := time.Now().Add(30 * time.Second)
		for {
			r, err := ExecSync(testContext(t), d.eng, web, []string{"wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html"}, 5*time.Second)
			if err == nil && r.ExitCode == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("httpd not serving in the container: %v %+v", err, r)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, tr := range transports {
			t.Run(tr, func(t *testing.T) {
				resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: web})
				if err != nil {
					t.Fatal(err)
				}
				local := streamtest.Forward(t, tr, resp.Url, 8080)
				got, err := roundTrip(t, local, "GET /index.html HTTP/1.0\r\n\r\n")
				if err != nil || !strings.Contains(got, "200 OK") || !strings.HasSuffix(got, "hello-dltstr\n") {
					t.Fatalf("GET through port-forward: %q, %v", got, err)
				}
			})
		}
	})

	t.Run("CloseKillsSessionProcess", func(t *testing.T) {
		s2, err := New(d.eng, netnsResolver{d.eng}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		resp, err := s2.GetExec(&runtimeapi.ExecRequest{ContainerId: sleeper, Cmd: []string{"sh", "-c", "echo started; exec sleep 1234"}, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		done := startSleep(t, "spdy", resp.Url, testContext(t))
		s2.Close()
		<-done
		assertNoProcess(t, d, sleeper, "sleep 123[4]")
	})

	t.Run("ClientDisconnectKillsSessionProcess", func(t *testing.T) {
		for _, tr := range transports {
			t.Run(tr, func(t *testing.T) {
				resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: sleeper, Cmd: []string{"sh", "-c", "echo started; exec sleep 1235"}, Stdout: true})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(testContext(t))
				done := startSleep(t, tr, resp.Url, ctx)
				cancel() // the client goes away
				<-done
				// The server notices and kills; give it a moment.
				deadline := time.Now().Add(10 * time.Second)
				for processLeft(t, d, sleeper, "sleep 123[5]") != "" && time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
				}
				assertNoProcess(t, d, sleeper, "sleep 123[5]")
			})
		}
	})

	t.Run("ExecSync", func(t *testing.T) {
		resp, err := ExecSync(testContext(t), d.eng, sleeper, []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Stdout) != "out\n" || string(resp.Stderr) != "err\n" || resp.ExitCode != 3 {
			t.Fatalf("stdout %q stderr %q exit %d", resp.Stdout, resp.Stderr, resp.ExitCode)
		}
	})

	t.Run("ExecSyncTimeoutKills", func(t *testing.T) {
		tests := []struct {
			cmd     []string
			pattern string
		}{
			{[]string{"sleep", "60"}, "sleep 6[0]"},
			// A shell with children: the whole tree goes.
			{[]string{"sh", "-c", "sleep 61 & sleep 62 & wait"}, "sleep 6[12]"},
			// Output closed early: the deadline still holds.
			{[]string{"sh", "-c", "exec >&- 2>&-; sleep 63"}, "sleep 6[3]"},
		}
		for _, tt := range tests {
			start := time.Now()
			_, err := ExecSync(testContext(t), d.eng, sleeper, tt.cmd, time.Second)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%q: err = %v, want DeadlineExceeded", tt.cmd, err)
			}
			if time.Since(start) > 20*time.Second {
				t.Errorf("%q: ExecSync returned after %s", tt.cmd, time.Since(start))
			}
			left, err := ExecSync(testContext(t), d.eng, sleeper, []string{"sh", "-c", "ps -o pid,args | grep '" + tt.pattern + "' || true"}, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if out := strings.TrimSpace(string(left.Stdout)); out != "" {
				t.Fatalf("%q: processes left running after the timeout:\n%s", tt.cmd, out)
			}
		}
	})
}

// startSleep runs an exec session that prints "started" and then sleeps,
// and returns once it printed; the channel gets the session's end.
func startSleep(t *testing.T, transport, url string, ctx context.Context) <-chan error {
	t.Helper()
	var stdout enginetest.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- streamtest.Executor(t, transport, url).StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "started") {
		if time.Now().After(deadline) {
			t.Fatal("exec did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return done
}

// processLeft lists the container's processes matching pattern.
func processLeft(t *testing.T, d *dockerEnv, id, pattern string) string {
	t.Helper()
	left, err := ExecSync(testContext(t), d.eng, id, []string{"sh", "-c", "ps -o pid,args | grep '" + pattern + "' || true"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(left.Stdout))
}

func assertNoProcess(t *testing.T, d *dockerEnv, id, pattern string) {
	t.Helper()
	if out := processLeft(t, d, id, pattern); out != "" {
		t.Fatalf("the session's process outlived it:\n%s", out)
	}
}
