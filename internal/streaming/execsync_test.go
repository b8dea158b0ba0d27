package streaming

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

// runningContainer creates and starts a container in the fake engine.
func runningContainer(t *testing.T, eng *fake.Fake, tty bool) string {
	t.Helper()
	ctx := context.Background()
	eng.AddImage(image.InspectResponse{RepoTags: []string{"busybox:latest"}})
	id, err := eng.CreateContainer(ctx, engine.CreateSpec{Config: &container.Config{Image: "busybox:latest", Tty: tty}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func noKill(t *testing.T) killFunc {
	return func(id string, pid int) error {
		t.Errorf("kill(%s, %d) called", id, pid)
		return nil
	}
}

func TestExecSyncOutputAndExitCode(t *testing.T) {
	eng := fake.New()
	id := runningContainer(t, eng, false)
	eng.SetExecHook(func(ctx context.Context, _ string, cfg engine.ExecConfig, s engine.Streams) int {
		if !cfg.AttachStdout || !cfg.AttachStderr || cfg.AttachStdin || cfg.TTY {
			t.Errorf("exec config = %+v, want stdout and stderr only", cfg)
		}
		io.WriteString(s.Stdout, "out:"+strings.Join(cfg.Cmd, " "))
		io.WriteString(s.Stderr, "err")
		return 3
	})
	resp, err := execSync(context.Background(), eng, id, []string{"sh", "-c", "exit 3"}, time.Minute, noKill(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Stdout) != "out:sh -c exit 3" || string(resp.Stderr) != "err" || resp.ExitCode != 3 {
		t.Fatalf("response = stdout %q stderr %q exit %d", resp.Stdout, resp.Stderr, resp.ExitCode)
	}
}

func TestExecSyncCapsEachStream(t *testing.T) {
	eng := fake.New()
	id := runningContainer(t, eng, false)
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	eng.SetExecHook(func(ctx context.Context, _ string, _ engine.ExecConfig, s engine.Streams) int {
		for i := 0; i < 17; i++ {
			if _, err := s.Stdout.Write(chunk); err != nil {
				t.Errorf("write %d: %v (excess output must be dropped, not refused)", i, err)
				return 1
			}
		}
		io.WriteString(s.Stderr, "tail")
		return 0
	})
	resp, err := execSync(context.Background(), eng, id, []string{"yes"}, 0, noKill(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Stdout) != MaxExecSyncOutput {
		t.Errorf("stdout has %d bytes, want the cap %d", len(resp.Stdout), MaxExecSyncOutput)
	}
	if string(resp.Stderr) != "tail" {
		t.Errorf("stderr = %q, want %q (its own cap)", resp.Stderr, "tail")
	}
}

func TestCappedBuffer(t *testing.T) {
	tests := []struct {
		max    int
		writes []string
		want   string
	}{
		{max: 5, writes: []string{"abc", "def", "gh"}, want: "abcde"},
		{max: 3, writes: []string{"abc", "d"}, want: "abc"},
		{max: 10, writes: []string{"ab", "", "cd"}, want: "abcd"},
		{max: 0, writes: []string{"ab"}, want: ""},
	}
	for _, tt := range tests {
		b := &cappedBuffer{max: tt.max}
		for _, w := range tt.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if got := string(b.Bytes()); got != tt.want {
			t.Errorf("max %d writes %q: got %q, want %q", tt.max, tt.writes, got, tt.want)
		}
	}
}

// survivor is an engine whose exec processes outlive their streams until
// killed, as Docker's do.
type survivor struct {
	*fake.Fake
	mu     sync.Mutex
	killed bool
}

func (s *survivor) InspectExec(ctx context.Context, id string) (*engine.ExecInspect, error) {
	info, err := s.Fake.InspectExec(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.killed {
		info.Running, info.Pid = true, 4242
	}
	return info, nil
}

func TestExecSyncTimeoutKillsTheProcess(t *testing.T) {
	for _, killErr := range []error{nil, errors.New("permission denied")} {
		eng := &survivor{Fake: fake.New()}
		id := runningContainer(t, eng.Fake, false)
		eng.SetExecHook(func(ctx context.Context, _ string, _ engine.ExecConfig, s engine.Streams) int {
			io.WriteString(s.Stdout, "partial")
			<-ctx.Done()
			return 137
		})
		var killedID string
		var killedPid int
		kill := func(cid string, pid int) error {
			eng.mu.Lock()
			defer eng.mu.Unlock()
			killedID, killedPid = cid, pid
			eng.killed = killErr == nil
			return killErr
		}
		_, err := execSync(context.Background(), eng, id, []string{"sleep", "60"}, 50*time.Millisecond, kill)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("kill error %v: err = %v, want DeadlineExceeded", killErr, err)
		}
		if killedID != id || killedPid != 4242 {
			t.Fatalf("killed (%q, %d), want (%q, 4242)", killedID, killedPid, id)
		}
		if killErr != nil && !strings.Contains(err.Error(), killErr.Error()) {
			t.Errorf("error %q does not say why the kill failed", err)
		}
	}
}

func TestExecSyncCallerCancelAlsoKills(t *testing.T) {
	eng := &survivor{Fake: fake.New()}
	id := runningContainer(t, eng.Fake, false)
	eng.SetExecHook(func(ctx context.Context, _ string, _ engine.ExecConfig, _ engine.Streams) int {
		<-ctx.Done()
		return 137
	})
	killed := make(chan int, 1)
	kill := func(_ string, pid int) error {
		eng.mu.Lock()
		eng.killed = true
		eng.mu.Unlock()
		killed <- pid
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := execSync(ctx, eng, id, []string{"sleep", "60"}, time.Hour, kill)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	select {
	case <-killed:
	default:
		t.Fatal("the exec was left running when the caller's deadline passed")
	}
}

func TestExecSyncErrors(t *testing.T) {
	eng := fake.New()
	id := runningContainer(t, eng, false)
	if _, err := execSync(context.Background(), eng, id, nil, 0, noKill(t)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("empty command: err = %v, want ErrInvalidArgument", err)
	}
	if _, err := execSync(context.Background(), eng, "nope", []string{"true"}, 0, noKill(t)); !errdefs.IsNotFound(err) {
		t.Errorf("unknown container: err = %v, want ErrNotFound", err)
	}
	eng.InjectError("StartExec", errdefs.ErrUnavailable)
	if _, err := execSync(context.Background(), eng, id, []string{"true"}, 0, noKill(t)); !errdefs.IsUnavailable(err) {
		t.Errorf("start failure: err = %v, want ErrUnavailable", err)
	}
}
