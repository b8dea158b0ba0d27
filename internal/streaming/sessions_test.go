package streaming

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/remotecommand"
	clientexec "k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/streaming/streamtest"
)

func TestExecSeparatesStreamsAndPassesExitCode(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			s, eng := newTestServer(t, Config{})
			id := runningContainer(t, eng, false)
			eng.SetExecHook(func(ctx context.Context, _ string, cfg engine.ExecConfig, st engine.Streams) int {
				if cfg.TTY || !cfg.AttachStdin || st.Stdin == nil {
					t.Errorf("exec config %+v: want stdin attached, no TTY", cfg)
					return 1
				}
				in, _ := io.ReadAll(st.Stdin) // ends when the client closes stdin
				io.WriteString(st.Stdout, "out:"+string(in))
				io.WriteString(st.Stderr, "err:"+strings.Join(cfg.Cmd, " "))
				return 3
			})
			resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh", "-c", "exit 3"}, Stdin: true, Stdout: true, Stderr: true})
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err = streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{
				Stdin: strings.NewReader("hello"), Stdout: &stdout, Stderr: &stderr,
			})
			var exitErr clientexec.CodeExitError
			if !errors.As(err, &exitErr) || exitErr.Code != 3 {
				t.Fatalf("err = %v, want exit code 3", err)
			}
			if stdout.String() != "out:hello" || stderr.String() != "err:sh -c exit 3" {
				t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

func TestExecSuccessAndEngineError(t *testing.T) {
	for _, tr := range execTransports {
		t.Run(tr, func(t *testing.T) {
			s, eng := newTestServer(t, Config{})
			id := runningContainer(t, eng, false)
			eng.SetExecHook(func(ctx context.Context, _ string, _ engine.ExecConfig, st engine.Streams) int {
				io.WriteString(st.Stdout, "ok")
				return 0
			})
			resp, _ := s.GetExec(&runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"true"}, Stdout: true})
			var stdout bytes.Buffer
			if err := streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{Stdout: &stdout}); err != nil {
				t.Fatalf("exit 0: err = %v", err)
			}
			if stdout.String() != "ok" {
				t.Fatalf("stdout = %q", stdout.String())
			}

			resp, _ = s.GetExec(&runtimeapi.ExecRequest{ContainerId: "no-such-container", Cmd: []string{"true"}, Stdout: true})
			err := streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{Stdout: &stdout})
			var exitErr clientexec.CodeExitError
			if err == nil || errors.As(err, &exitErr) {
				t.Fatalf("exec in a missing container: err = %v, want a non-exit-code error", err)
			}
		})
	}
}

// ttyExecID returns the id of the container's only exec.
func ttyExecID(ctx context.Context, eng *fake.Fake, containerID string) string {
	info, err := eng.InspectContainer(ctx, containerID)
	if err != nil || len(info.ExecIDs) != 1 {
		return ""
	}
	return info.ExecIDs[0]
}

func TestExecTTYResize(t *testing.T) {
	for _, tr := range execTransports {
		t.Run(tr, func(t *testing.T) {
			s, eng := newTestServer(t, Config{})
			id := runningContainer(t, eng, false)
			eng.SetExecHook(func(ctx context.Context, cid string, cfg engine.ExecConfig, st engine.Streams) int {
				if !cfg.TTY || cfg.AttachStderr || st.Stderr != nil || !st.TTY {
					t.Errorf("exec config %+v streams %+v: want a TTY without stderr", cfg, st)
					return 1
				}
				execID := ttyExecID(ctx, eng, cid)
				for ctx.Err() == nil {
					if h, w, ok := eng.LastTTYSize(execID); ok && h == 40 && w == 120 {
						io.WriteString(st.Stdout, "40 120\r\n")
						return 0
					}
					time.Sleep(5 * time.Millisecond)
				}
				return 1
			})
			resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh"}, Stdin: true, Stdout: true, Tty: true})
			if err != nil {
				t.Fatal(err)
			}
			sizes := make(streamtest.SizeQueue, 2)
			sizes <- remotecommand.TerminalSize{Width: 120, Height: 40}
			defer close(sizes)
			stdinR, stdinW := io.Pipe()
			defer stdinW.Close()
			var stdout bytes.Buffer
			err = streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{
				Stdin: stdinR, Stdout: &stdout, Tty: true, TerminalSizeQueue: sizes,
			})
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if stdout.String() != "40 120\r\n" {
				t.Fatalf("stdout = %q: the exec never saw the resize", stdout.String())
			}
		})
	}
}

func TestAttach(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			s, eng := newTestServer(t, Config{})
			id := runningContainer(t, eng, false)
			eng.SetAttachHook(func(ctx context.Context, cid string, st engine.Streams) error {
				if st.TTY || st.Stdin == nil || st.Stdout == nil || st.Stderr == nil {
					t.Errorf("attach streams %+v: want all three, no TTY", st)
				}
				in, _ := io.ReadAll(st.Stdin)
				io.WriteString(st.Stdout, "echo:"+string(in))
				io.WriteString(st.Stderr, "warn")
				return nil
			})
			resp, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: id, Stdin: true, Stdout: true, Stderr: true})
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err = streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{
				Stdin: strings.NewReader("hi"), Stdout: &stdout, Stderr: &stderr,
			})
			if err != nil {
				t.Fatal(err)
			}
			if stdout.String() != "echo:hi" || stderr.String() != "warn" {
				t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

func TestAttachTTYFollowsContainerAndResizes(t *testing.T) {
	s, eng := newTestServer(t, Config{})
	id := runningContainer(t, eng, true)
	eng.SetAttachHook(func(ctx context.Context, cid string, st engine.Streams) error {
		if !st.TTY || st.Stderr != nil {
			t.Errorf("attach to a TTY container: streams %+v", st)
		}
		for ctx.Err() == nil {
			if h, w, ok := eng.LastTTYSize(cid); ok && h == 30 && w == 90 {
				io.WriteString(st.Stdout, "resized")
				return nil
			}
			time.Sleep(5 * time.Millisecond)
		}
		return ctx.Err()
	})
	resp, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: id, Stdin: true, Stdout: true, Tty: true})
	if err != nil {
		t.Fatal(err)
	}
	sizes := make(streamtest.SizeQueue, 1)
	sizes <- remotecommand.TerminalSize{Width: 90, Height: 30}
	defer close(sizes)
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	var stdout bytes.Buffer
	err = streamtest.Executor(t, "spdy", resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{
		Stdin: stdinR, Stdout: &stdout, Tty: true, TerminalSizeQueue: sizes,
	})
	if err != nil || stdout.String() != "resized" {
		t.Fatalf("err %v stdout %q", err, stdout.String())
	}
}

// hostNet resolves every sandbox to the host's network.
type hostNet struct{ path string }

func (h hostNet) SandboxNetNS(context.Context, string) (string, error) { return h.path, nil }

// echoServer answers each connection with "echo:" and what it read.
func echoServer(t *testing.T, ln net.Listener) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				io.WriteString(c, "echo:"+string(b))
			}()
		}
	}()
}

func TestPortForwardHostNetwork(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoServer(t, ln)
	port := ln.Addr().(*net.TCPAddr).Port
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			s, err := New(fake.New(), hostNet{}, Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "sandbox"})
			if err != nil {
				t.Fatal(err)
			}
			local := streamtest.Forward(t, tr, resp.Url, port)
			// Several connections over one session, each half-closed by
			// the client and answered after that.
			for _, msg := range []string{"one", "two", strings.Repeat("x", 1<<20)} {
				got, err := roundTrip(t, local, msg)
				if err != nil || got != "echo:"+msg {
					t.Fatalf("round trip %.10q: got %.20q, %v", msg, got, err)
				}
			}
		})
	}
}

func TestCloseEndsRunningSessions(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			s, eng := newTestServer(t, Config{})
			id := runningContainer(t, eng, false)
			started := make(chan struct{})
			eng.SetExecHook(func(ctx context.Context, _ string, _ engine.ExecConfig, st engine.Streams) int {
				io.WriteString(st.Stdout, "running\n")
				close(started)
				<-ctx.Done() // a process that never ends by itself
				return 137
			})
			resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sleep", "inf"}, Stdout: true})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				done <- streamtest.Executor(t, tr, resp.Url).StreamWithContext(testContext(t), remotecommand.StreamOptions{Stdout: io.Discard})
			}()
			select {
			case <-started:
			case err := <-done:
				t.Fatalf("session ended before it started: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("exec never started")
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the session outlived Close")
			}
		})
	}
}

func TestOrphanedExecIsKilled(t *testing.T) {
	ends := map[string]func(s *Server, cancelClient context.CancelFunc){
		"server closes":      func(s *Server, _ context.CancelFunc) { s.Close() },
		"client disconnects": func(_ *Server, cancelClient context.CancelFunc) { cancelClient() },
	}
	for name, end := range ends {
		for _, tr := range transports {
			t.Run(name+"/"+tr, func(t *testing.T) {
				eng := &survivor{Fake: fake.New()}
				id := runningContainer(t, eng.Fake, false)
				s, err := New(eng, nil, Config{})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				killed := make(chan int, 1)
				s.rt.kill = func(cid string, pid int) error {
					if cid != id {
						t.Errorf("kill in container %q, want %q", cid, id)
					}
					eng.mu.Lock()
					eng.killed = true
					eng.mu.Unlock()
					killed <- pid
					return nil
				}
				started := make(chan struct{})
				eng.SetExecHook(func(ctx context.Context, _ string, _ engine.ExecConfig, _ engine.Streams) int {
					close(started)
					<-ctx.Done()
					return 137
				})
				resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sleep", "inf"}, Stdout: true})
				if err != nil {
					t.Fatal(err)
				}
				clientCtx, cancelClient := context.WithCancel(testContext(t))
				defer cancelClient()
				done := make(chan error, 1)
				go func() {
					done <- streamtest.Executor(t, tr, resp.Url).StreamWithContext(clientCtx, remotecommand.StreamOptions{Stdout: io.Discard})
				}()
				<-started
				end(s, cancelClient)
				select {
				case pid := <-killed:
					if pid != 4242 {
						t.Fatalf("killed pid %d, want 4242", pid)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("the exec's process was left running")
				}
				<-done
			})
		}
	}
}
