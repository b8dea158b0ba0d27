package cache

import (
	"context"
	"sync"
	"time"

	"github.com/containerd/errdefs"
)

const (
	// inspectTimeout bounds one background inspect. Docker holds a
	// container's lock through some operations, and an inspect of that
	// container waits for it; it must hold up nothing else.
	inspectTimeout = 30 * time.Second
	// lagLimit: a change announced by an event and not applied for this
	// long means the cache is behind; reads then go to the engine.
	lagLimit = time.Second
	// refreshWorkers bounds concurrent event-driven inspects.
	refreshWorkers = 8
)

// refresher runs the event-driven inspects: one at a time per container
// (a burst of events for it collapses into one more inspect), many
// containers at once, so that one container Docker is stuck on delays only
// itself.
type refresher struct {
	mu      sync.Mutex
	pending map[string]*pending
	sem     chan struct{}
}

type pending struct {
	ctx     context.Context // the stream whose events it serves
	since   time.Time       // oldest event not yet covered by an inspect
	running bool
	again   bool // another event arrived while an inspect ran
	againAt time.Time
}

func newRefresher() *refresher {
	return &refresher{pending: map[string]*pending{}, sem: make(chan struct{}, refreshWorkers)}
}

// behind reports whether some announced change has waited longer than
// lagLimit to be applied.
func (r *refresher) behind() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pending {
		if time.Since(p.since) > lagLimit {
			return true
		}
	}
	return false
}

// schedule asks for container id to be re-inspected.
func (c *Cache) schedule(ctx context.Context, id string) {
	r := c.events
	r.mu.Lock()
	p := r.pending[id]
	if p != nil && p.ctx != ctx {
		// A loop of an ended stream (its inspect may still wait on a daemon
		// that is going away) quits without looking at "again": an event of
		// this stream gets a loop of its own.
		p = nil
	}
	if p == nil {
		p = &pending{ctx: ctx, since: time.Now()}
		r.pending[id] = p
	}
	if p.running {
		if !p.again {
			p.again, p.againAt = true, time.Now()
		}
		r.mu.Unlock()
		return
	}
	p.running = true
	r.mu.Unlock()
	go c.refreshLoop(ctx, id, p)
}

func (c *Cache) refreshLoop(ctx context.Context, id string, p *pending) {
	r := c.events
	defer func() {
		r.mu.Lock()
		if r.pending[id] == p { // not replaced by a newer stream's loop
			delete(r.pending, id)
		}
		r.mu.Unlock()
	}()
	for {
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		c.inspectAfterEvent(ctx, id)
		<-r.sem
		r.mu.Lock()
		if !p.again || ctx.Err() != nil {
			r.mu.Unlock()
			return
		}
		p.again, p.since = false, p.againAt
		r.mu.Unlock()
	}
}

func (c *Cache) inspectAfterEvent(ctx context.Context, id string) {
	ictx, cancel := context.WithTimeout(ctx, inspectTimeout)
	defer cancel()
	seq := c.observe()
	in, err := c.eng.InspectContainer(ictx, id)
	switch {
	case err == nil:
		c.store(seq, in)
	case errdefs.IsNotFound(err):
		c.remove(seq, id)
	case ctx.Err() != nil:
		// The stream ended; the resync after the reconnect covers it.
	default:
		c.log.Warn("inspect after event failed; answering from the engine until resynced", "container", id, "err", err)
		c.markStale("inspect after event failed")
	}
}
