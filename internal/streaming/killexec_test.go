package streaming

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// startingExec reads as running without a pid for its first inspects, as
// Docker reports an exec that has only just started; after the kill it
// reads as exited.
type startingExec struct {
	engine.Engine
	mu       sync.Mutex
	inspects int
	killed   bool
}

func (s *startingExec) InspectExec(ctx context.Context, id string) (*engine.ExecInspect, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inspects++
	info := &engine.ExecInspect{ID: id, ContainerID: "c1", Running: !s.killed}
	if s.inspects > 2 && !s.killed {
		info.Pid = 42
	}
	return info, nil
}

func TestKillExecWaitsForThePid(t *testing.T) {
	eng := &startingExec{}
	var got int
	kill := func(_ string, pid int) error {
		eng.mu.Lock()
		defer eng.mu.Unlock()
		got, eng.killed = pid, true
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := killExec(ctx, eng, "c1", "e1", kill); err != nil {
		t.Fatalf("killExec: %v", err)
	}
	if got != 42 {
		t.Fatalf("killed pid %d, want 42 (the pid Docker reported once it had one)", got)
	}
}
