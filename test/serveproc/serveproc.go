// Package serveproc runs the real `dockerlet serve` binary for tests that
// must treat the server as a process: crash it with kill -9, restart it,
// read its log, see it exit.
package serveproc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// Build compiles cmd/dockerlet once per test binary (with the race detector
// when DOCKERLET_SERVE_RACE=1) and returns the binary's path. Every test
// binary of one checkout writes the same path (built beside it, then
// renamed over it: atomic, and a server already running keeps its old
// file), so runs do not leave a 40 MB copy each in the temporary
// directory; another checkout has its own. DOCKERLET_BIN names a binary
// built beforehand instead (tests that run where no Go toolchain is, as in
// the systemd test node).
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if bin := os.Getenv("DOCKERLET_BIN"); bin != "" && os.Getenv("DOCKERLET_SERVE_RACE") != "1" {
			buildBin, buildErr = bin, nil
			return
		}
		name := "dockerlet"
		args := []string{"build", "-tags", "grpcnotrace"} // as the Makefile builds it
		if os.Getenv("DOCKERLET_SERVE_RACE") == "1" {
			name, args = "dockerlet-race", append(args, "-race")
		}
		// Keyed by the checkout too: test binaries of several checkouts on
		// one machine must not run (or restart into) each other's build.
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("dockerlet-serveproc-%d-%s", os.Getuid(), checkoutKey()))
		if buildErr = os.MkdirAll(dir, 0o700); buildErr != nil {
			return
		}
		tmp, err := os.CreateTemp(dir, name+".build-")
		if err != nil {
			buildErr = err
			return
		}
		tmp.Close()
		defer os.Remove(tmp.Name()) // gone after the rename; left only on failure
		cmd := exec.Command("go", append(args, "-o", tmp.Name(), "github.com/dockerlet/dockerlet/cmd/dockerlet")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		buildBin = filepath.Join(dir, name)
		buildErr = os.Rename(tmp.Name(), buildBin)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// checkoutKey names the source tree the server is built from: a short
// hash of the module's directory.
func checkoutKey() string {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "default"
	}
	sum := sha256.Sum256(bytes.TrimSpace(dir))
	return hex.EncodeToString(sum[:4])
}

// Options configure a server.
type Options struct {
	// Dir holds the socket, the root directory and the log; it must not be
	// world-writable (the server refuses such a socket directory).
	Dir        string
	PauseImage string
	LogLevel   string // default "info"
	Args       []string
	// OpenFiles, when set, is the server's open-file limit (soft and hard),
	// set by prlimit(1) before it starts.
	OpenFiles uint64
}

// Server is one `dockerlet serve` process, restartable.
type Server struct {
	Bin     string
	Opts    Options
	Socket  string
	Root    string
	LogPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // exit status of the last run
	starts int
}

// New prepares a server; Start runs it.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	logPath := filepath.Join(opts.Dir, "serve.log")
	// A server built with -race (DOCKERLET_SERVE_RACE=1) reports races in
	// its log; any is a failure of the test that ran it.
	t.Cleanup(func() {
		if b, err := os.ReadFile(logPath); err == nil && strings.Contains(string(b), "WARNING: DATA RACE") {
			t.Errorf("the server reported a data race; log: %s\n%s", logPath, raceExcerpt(string(b)))
		}
	})
	return &Server{
		Bin: Build(t), Opts: opts,
		Socket:  filepath.Join(opts.Dir, "cri.sock"),
		Root:    filepath.Join(opts.Dir, "root"),
		LogPath: logPath,
	}
}

// Start runs the server and waits (up to 60 s) until it answers Version.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return fmt.Errorf("serveproc: already running")
	}
	logf, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.starts++
	fmt.Fprintf(logf, "=== serveproc start %d\n", s.starts)
	args := append([]string{"serve",
		"--container-runtime-endpoint", "unix://" + s.Socket,
		"--root-directory", s.Root,
		"--pod-infra-container-image", s.Opts.PauseImage,
		"--log-level", s.Opts.LogLevel,
		"--shutdown-timeout", "5s",
	}, s.Opts.Args...)
	cmd := exec.Command(s.Bin, args...)
	if s.Opts.OpenFiles > 0 {
		cmd = exec.Command("prlimit", append([]string{fmt.Sprintf("--nofile=%d:%d", s.Opts.OpenFiles, s.Opts.OpenFiles), "--", s.Bin}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.mu.Unlock()
		return err
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.mu.Lock()
		s.err = err
		if s.cmd == cmd {
			s.cmd = nil
		}
		s.mu.Unlock()
		close(exited)
	}()
	return s.waitReady(ctx, exited)
}

func (s *Server) waitReady(ctx context.Context, exited chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	conn, err := s.Dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	for {
		select {
		case <-exited:
			return fmt.Errorf("serveproc: server exited during start (%v); log: %s", s.ExitErr(), s.LogPath)
		case <-ctx.Done():
			return fmt.Errorf("serveproc: server not ready: %w; log: %s", ctx.Err(), s.LogPath)
		case <-time.After(50 * time.Millisecond):
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := rt.Version(cctx, &runtimeapi.VersionRequest{})
		ccancel()
		if err == nil {
			return nil
		}
	}
}

// Dial returns a client connection to the server's socket.
func (s *Server) Dial() (*grpc.ClientConn, error) {
	return grpc.NewClient("unix://"+s.Socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(32<<20), grpc.MaxCallSendMsgSize(64<<20)))
}

// Alive reports whether the process runs.
func (s *Server) Alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// ExitErr is the exit status of the last process that ended.
func (s *Server) ExitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Kill sends SIGKILL and waits for the process to go.
func (s *Server) Kill() {
	s.signal(syscall.SIGKILL)
}

// Stop sends SIGTERM and waits (up to 15 s, then SIGKILL).
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		s.Kill()
	}
}

// Signal sends sig to the running server and returns at once (Kill and
// Stop wait for it to exit).
func (s *Server) Signal(sig syscall.Signal) error {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("serveproc: not running")
	}
	return cmd.Process.Signal(sig)
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	<-exited
}

func raceExcerpt(log string) string {
	i := strings.Index(log, "WARNING: DATA RACE")
	end := min(len(log), i+4000)
	return log[i:end]
}
