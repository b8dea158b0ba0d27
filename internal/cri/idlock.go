package cri

import (
	"context"
	"fmt"
	"sync"
)

// Per-id serialisation: RPCs that change one pod or container
// take a lock keyed by its full id, after the id has been resolved, so
// concurrent Create/Start/Stop/Remove on one object run one at a time while
// calls on different objects stay concurrent.
//
// Keys and order. A goroutine takes at most one key of each kind, always in
// this order, and never waits for an earlier kind while holding a later one:
//
//  1. pod attempt (name/namespace/uid/attempt), exclusive: RunPodSandbox,
//     so one attempt never yields two sandboxes;
//  2. sandbox id: exclusive for Stop/RemovePodSandbox and for the sandbox
//     RunPodSandbox is making; shared for CreateContainer and
//     StartContainer, so containers of one pod are created and started
//     concurrently but never while the pod is being stopped or removed;
//  3. container id, exclusive: Start/Stop/Remove/UpdateContainerResources,
//     and every container RemovePodSandbox removes.
//
// Locks are waited for under the request's context: a caller whose
// deadline passes gets DeadlineExceeded, not a stuck call. No lock is held
// across a wait other than what the RPC itself waits for (Docker, the
// grace period of the stop it was asked for, the network plugin).

// lockKind names the key spaces above.
type lockKind string

const (
	lockPod       lockKind = "pod"
	lockSandbox   lockKind = "sandbox"
	lockContainer lockKind = "container"
)

// idLocks is a set of reader/writer locks created on first use and dropped
// when nobody holds or waits for them. Writers are preferred: once one
// waits, new readers queue behind it, so a stream of CreateContainer calls
// cannot starve RemovePodSandbox.
type idLocks struct {
	mu sync.Mutex
	m  map[string]*idLock
}

type idLock struct {
	refs    int // holders and waiters; the entry goes at 0
	readers int
	writer  bool
	writers int // writers waiting
	// changed is closed (and replaced) whenever the lock is released.
	changed chan struct{}
}

// lock takes key exclusively; unlock releases it.
func (l *idLocks) lock(ctx context.Context, kind lockKind, id string) (unlock func(), err error) {
	return l.acquire(ctx, string(kind)+"/"+id, true)
}

// rlock takes key shared.
func (l *idLocks) rlock(ctx context.Context, kind lockKind, id string) (unlock func(), err error) {
	return l.acquire(ctx, string(kind)+"/"+id, false)
}

func (l *idLocks) acquire(ctx context.Context, key string, exclusive bool) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*idLock{}
	}
	e := l.m[key]
	if e == nil {
		e = &idLock{changed: make(chan struct{})}
		l.m[key] = e
	}
	e.refs++
	if exclusive {
		e.writers++
	}
	for {
		if exclusive && !e.writer && e.readers == 0 {
			e.writers--
			e.writer = true
			break
		}
		if !exclusive && !e.writer && e.writers == 0 {
			e.readers++
			break
		}
		ch := e.changed
		l.mu.Unlock()
		select {
		case <-ch:
			l.mu.Lock()
		case <-ctx.Done():
			l.mu.Lock()
			if exclusive {
				e.writers--
				// Readers held back by this writer may go now.
				e.signalLocked()
			}
			l.dropLocked(key, e)
			l.mu.Unlock()
			return nil, fmt.Errorf("waiting for %s: %w", key, ctx.Err())
		}
	}
	l.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { l.release(key, e, exclusive) }) }, nil
}

func (l *idLocks) release(key string, e *idLock, exclusive bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if exclusive {
		e.writer = false
	} else {
		e.readers--
	}
	e.signalLocked()
	l.dropLocked(key, e)
}

func (e *idLock) signalLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

func (l *idLocks) dropLocked(key string, e *idLock) {
	e.refs--
	if e.refs == 0 {
		delete(l.m, key)
	}
}
