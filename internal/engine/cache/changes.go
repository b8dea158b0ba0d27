package cache

import (
	"context"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
)

// ChangeKind is a container lifecycle transition, as CRI's
// GetContainerEvents reports them.
type ChangeKind int

const (
	ChangeCreated ChangeKind = iota
	ChangeStarted
	ChangeStopped
	ChangeDeleted
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeCreated:
		return "created"
	case ChangeStarted:
		return "started"
	case ChangeStopped:
		return "stopped"
	case ChangeDeleted:
		return "deleted"
	}
	return "unknown"
}

// Change is one transition, emitted after the cache holds its new state.
type Change struct {
	Kind ChangeKind
	ID   string
	Time time.Time // when the cache applied it
	// Container is the state after the change (for ChangeDeleted the last
	// known state). It is the cache's shared snapshot: read-only.
	Container *container.InspectResponse
}

// subscriberQueue bounds the changes waiting for a slow subscriber. One that
// falls further behind has its channel closed: it missed changes and must
// relist (what a kubelet does when its event stream breaks).
const subscriberQueue = 4096

type subscriber struct {
	limit  int
	mu     sync.Mutex
	queue  []Change
	closed bool
	wake   chan struct{}
	out    chan Change
}

func (s *subscriber) push(ch Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if len(s.queue) >= s.limit {
		s.closed = true
	} else {
		s.queue = append(s.queue, ch)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Subscribe streams container changes in the order the cache applied them,
// until ctx ends, Close, or the subscriber falls more than 4096 changes
// behind; the channel is then closed. Changes before the call are not
// replayed: subscribe first, then list.
func (c *Cache) Subscribe(ctx context.Context) <-chan Change {
	s := &subscriber{limit: c.subQueue, wake: make(chan struct{}, 1), out: make(chan Change)}
	c.mu.Lock()
	select {
	case <-c.done:
		s.closed = true
	default:
		c.subs[s] = struct{}{}
	}
	c.mu.Unlock()
	go func() {
		defer close(s.out)
		defer func() {
			c.mu.Lock()
			delete(c.subs, s)
			c.mu.Unlock()
		}()
		for {
			s.mu.Lock()
			batch, closed := s.queue, s.closed
			s.queue = nil
			s.mu.Unlock()
			for _, ch := range batch {
				select {
				case s.out <- ch:
				case <-ctx.Done():
					return
				}
			}
			if closed {
				return
			}
			if len(batch) > 0 {
				continue
			}
			select {
			case <-s.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return s.out
}

// publishLocked derives the transitions between two states of one
// container (nil: absent) and queues them for every subscriber.
func (c *Cache) publishLocked(old, cur *entry) {
	if len(c.subs) == 0 {
		return
	}
	now := time.Now()
	var changes []Change
	add := func(k ChangeKind, snap *container.InspectResponse) {
		changes = append(changes, Change{Kind: k, ID: snap.ID, Time: now, Container: snap})
	}
	switch {
	case old == nil && cur != nil:
		add(ChangeCreated, cur.inspect)
		if started(cur.inspect.State) {
			add(ChangeStarted, cur.inspect)
			if !running(cur.inspect.State) {
				add(ChangeStopped, cur.inspect)
			}
		} else if cur.shared.StartFailed {
			add(ChangeStopped, cur.inspect)
		}
	case old != nil && cur == nil:
		snap := old.inspect
		if running(old.inspect.State) {
			// Removed while last seen running (a forced removal, or its
			// exit not yet seen): report the stop with the last known
			// state marked exited; the exit code is not known.
			snap = stoppedCopy(old.inspect, now)
			add(ChangeStopped, snap)
		}
		add(ChangeDeleted, snap)
	case old != nil && cur != nil:
		o, n := old.inspect.State, cur.inspect.State
		restarted := started(n) && startedAt(o) != startedAt(n)
		switch {
		case running(o) && restarted:
			// It exited and started again between two looks.
			add(ChangeStopped, stoppedCopy(old.inspect, now))
		case running(o) && !running(n):
			add(ChangeStopped, cur.inspect)
		}
		if restarted {
			add(ChangeStarted, cur.inspect)
			if !running(n) {
				add(ChangeStopped, cur.inspect) // ran and ended between two looks
			}
		}
		if !old.shared.StartFailed && cur.shared.StartFailed {
			// A failed start ends the container as an exit would (the CRI
			// reports it exited), but Docker sends no "die" for it.
			add(ChangeStopped, cur.inspect)
		}
	}
	for _, ch := range changes {
		for s := range c.subs {
			s.push(ch)
		}
	}
}

func stoppedCopy(in *container.InspectResponse, now time.Time) *container.InspectResponse {
	out := deepCopy(*in)
	out.State.Running, out.State.Paused, out.State.Restarting = false, false, false
	out.State.Status = container.StateExited
	out.State.Pid = 0
	out.State.FinishedAt = now.UTC().Format(time.RFC3339Nano)
	return &out
}

func running(st *container.State) bool { return st != nil && st.Running }

func startedAt(st *container.State) string {
	if st == nil {
		return ""
	}
	return st.StartedAt
}

// startFailed reports a container Docker keeps "created" after a failed
// start: it has the start's error, or a finish time.
func startFailed(st *container.State, ts times) bool {
	return st != nil && st.Status == container.StateCreated && (st.Error != "" || ts.finished.Year() > 1)
}

// started reports whether the container has ever started.
func started(st *container.State) bool {
	t, err := time.Parse(time.RFC3339Nano, startedAt(st))
	return err == nil && t.Year() > 1
}
