package cri

import (
	"context"
	"sync"
	"time"
)

// statusDrainBound bounds how long ContainerStatus waits for the log copier
// of an exited container: long enough for the tail of a normal exit, short
// enough that a stuck copier does not stall the kubelet's status poll.
const statusDrainBound = 2 * time.Second

// drainMemo remembers containers whose drain ran out of time, so that a
// stuck copier costs one bounded wait, not one per status poll.
type drainMemo struct {
	mu     sync.Mutex
	gaveUp map[string]struct{}
}

func (m *drainMemo) given(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.gaveUp[id]
	return ok
}

func (m *drainMemo) giveUp(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gaveUp == nil {
		m.gaveUp = map[string]struct{}{}
	}
	m.gaveUp[id] = struct{}{}
}

func (m *drainMemo) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.gaveUp, id)
}

// drainExitedLog waits (bounded) until the log copier of an exited
// container has written all of its output, so that a client reading the
// log right after it sees the container exited finds everything. A copier
// that already finished, or none at all, returns at once.
func (s *Service) drainExitedLog(ctx context.Context, id string) {
	if s.cfg.Logs == nil || s.drains.given(id) {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, statusDrainBound)
	defer cancel()
	if err := s.cfg.Logs.Drain(dctx, id); err != nil {
		if ctx.Err() == nil {
			s.drains.giveUp(id)
		}
		s.log(ctx).Warn("draining the log of an exited container did not finish", "container", id, "err", err)
	}
}
