package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
	"github.com/dockerlet/dockerlet/internal/streaming/streamtest"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/client-go/tools/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// An interactive TTY exec through the CRI Exec URL: the process sees the
// size the client sets at start and a resize later (stty size), over SPDY
// and WebSocket.
func TestExecTTYResize(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := e.wirePod("tty")
	sb := e.runPod(ctx, cfg)
	ctr := e.runIn(ctx, sb, cfg, "app", "sleep", "3600")

	for _, transport := range streamTransports {
		t.Run(transport, func(t *testing.T) {
			resp, err := e.rt.Exec(ctx, &runtimeapi.ExecRequest{
				ContainerId: ctr, Tty: true, Stdin: true, Stdout: true,
				// Each line typed prints the size again; "q" ends.
				Cmd: []string{"sh", "-c", `stty size; while read x; do [ "$x" = q ] && exit 7; stty size; done`},
			})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if !strings.HasPrefix(resp.Url, "http://127.0.0.1:") {
				t.Fatalf("Exec URL %q is not absolute on 127.0.0.1", resp.Url)
			}
			stdin, typing := io.Pipe()
			defer typing.Close()
			var out enginetest.SyncBuffer
			sizes := make(streamtest.SizeQueue, 2)
			sizes <- remotecommand.TerminalSize{Width: 100, Height: 30}
			done := make(chan error, 1)
			go func() {
				done <- streamtest.Executor(t, transport, resp.Url).StreamWithContext(ctx, remotecommand.StreamOptions{
					Stdin: stdin, Stdout: &out, Tty: true, TerminalSizeQueue: sizes,
				})
			}()
			// The size may reach the TTY after the first stty ran: type
			// lines until the process reports it.
			seeSize := func(want string) {
				t.Helper()
				deadline := time.Now().Add(30 * time.Second)
				for !strings.Contains(out.String(), want) {
					select {
					case err := <-done:
						t.Fatalf("exec ended (%v) before %q appeared:\n%s", err, want, out.String())
					default:
					}
					if time.Now().After(deadline) {
						t.Fatalf("no %q from stty size:\n%s", want, out.String())
					}
					_, _ = io.WriteString(typing, "\n")
					time.Sleep(200 * time.Millisecond)
				}
			}
			seeSize("30 100")
			sizes <- remotecommand.TerminalSize{Width: 120, Height: 40}
			seeSize("40 120")
			_, _ = io.WriteString(typing, "q\n")
			select {
			case err := <-done:
				var exit interface{ ExitStatus() int }
				if !errors.As(err, &exit) || exit.ExitStatus() != 7 {
					t.Fatalf("exec ended with %v, want exit status 7", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("exec did not end after q")
			}
		})
	}
}

// Port-forward through the CRI PortForward URL to busybox httpd in a pod.
func TestPortForwardToHttpd(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := e.wirePod("pf")
	sb := e.runPod(ctx, cfg)
	web := e.runIn(ctx, sb, cfg, "web", httpdCmd(8080, "hello-dltwire-pf")...)
	// client-go ends the whole port-forward on the first refused connection
	// to the pod: httpd must listen before the first GET (a busy machine
	// starts it seconds after the container).
	eventually(t, "httpd listening in the pod", func() error {
		r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: web, Timeout: 10,
			Cmd: []string{"wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"}})
		if err == nil && r.ExitCode != 0 {
			err = fmt.Errorf("wget exit %d: %s", r.ExitCode, r.Stderr)
		}
		return err
	})

	for _, transport := range streamTransports {
		t.Run(transport, func(t *testing.T) {
			resp, err := e.rt.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: sb, Port: []int32{8080}})
			if err != nil {
				t.Fatalf("PortForward: %v", err)
			}
			addr := streamtest.Forward(t, transport, resp.Url, 8080)
			eventually(t, "GET through the port-forward", func() error {
				return httpGetBody("http://"+addr+"/index.html", "hello-dltwire-pf")
			})
		})
	}
}

// Docker mode: a host port of the pod reached from 127.0.0.1.
func TestDockerHostPort(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	hostPort := freeHostPort(t)
	cfg := e.wirePod("hostport", &runtimeapi.PortMapping{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 8080, HostPort: hostPort})
	sb := e.runPod(ctx, cfg)
	e.runIn(ctx, sb, cfg, "web", httpdCmd(8080, "hello-dltwire-hostport")...)
	eventually(t, "GET on the host port", func() error {
		return httpGetBody(fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort), "hello-dltwire-hostport")
	})
	if _, err := e.rt.StopPodSandbox(context.Background(), &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	if err := httpGetBody(fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort), "hello"); err == nil {
		t.Fatal("the host port still answers after StopPodSandbox")
	}
}

// ExecSync with a timeout answers DeadlineExceeded, as kubelet probes
// expect, and the command does not live on in the container.
func TestExecSyncTimeoutEndsProcess(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := e.wirePod("execsync")
	sb := e.runPod(ctx, cfg)
	ctr := e.runIn(ctx, sb, cfg, "app", "sleep", "3600")
	_, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"sleep", "300"}, Timeout: 1})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("ExecSync past its timeout: %v, want DeadlineExceeded", err)
	}
	eventually(t, "no sleep 300 left", func() error {
		r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"ps", "-o", "pid,args"}, Timeout: 10})
		if err != nil {
			return err
		}
		if strings.Contains(string(r.Stdout), "sleep 300") {
			return fmt.Errorf("still running:\n%s", r.Stdout)
		}
		if !strings.Contains(string(r.Stdout), "sleep 3600") {
			return fmt.Errorf("ps does not list the container's own process:\n%s", r.Stdout)
		}
		return nil
	})
}
