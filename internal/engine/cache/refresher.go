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
	// holdLimit bounds how long a container's events wait for the
	// read-your-writes inspect of a change under way (see hold): well
	// within lagLimit, which still counts from the event's arrival.
	holdLimit = lagLimit / 2
)

// refresher runs the event-driven inspects: one at a time per container
// (a burst of events for it collapses into one more inspect), many
// containers at once, so that one container Docker is stuck on delays only
// itself.
type refresher struct {
	mu      sync.Mutex
	pending map[string]*pending
	writes  map[string]*write
	sem     chan struct{}
}

// write is a change of one container under way through the cache (a stop,
// a kill, a removal...). The events it causes (kill, die, stop) arrive
// while it runs; its own inspect afterwards sees their outcome, so they
// wait for it instead of each costing an inspect of their own. Only events
// that arrived after that inspect began, or that waited holdLimit, still
// get one.
type write struct {
	n       int             // writes of this container under way
	held    bool            // an event arrived meanwhile
	heldCtx context.Context // the stream of the last one
	heldSeq uint64          // taken on the last one's arrival
	since   time.Time       // the first one's arrival
	timer   *time.Timer
}

type pending struct {
	ctx     context.Context // the stream whose events it serves
	since   time.Time       // oldest event not yet covered by an inspect
	running bool
	again   bool // another event arrived while an inspect ran
	againAt time.Time
}

func newRefresher() *refresher {
	return &refresher{pending: map[string]*pending{}, writes: map[string]*write{}, sem: make(chan struct{}, refreshWorkers)}
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

// schedule asks for container id to be re-inspected after an event: at
// once, or, while a change of it is under way, once that change's own
// inspect has shown whether it covers the event.
func (c *Cache) schedule(ctx context.Context, id string) {
	r := c.events
	r.mu.Lock()
	if w := r.writes[id]; w != nil {
		if !w.held {
			w.held, w.since = true, time.Now()
			w.timer = time.AfterFunc(holdLimit, func() { c.flushHeld(id, w) })
		}
		w.heldCtx, w.heldSeq = ctx, c.observe()
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	c.scheduleSince(ctx, id, time.Now())
}

// scheduleSince is schedule for an event that arrived at since.
func (c *Cache) scheduleSince(ctx context.Context, id string, since time.Time) {
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
		p = &pending{ctx: ctx, since: since}
		r.pending[id] = p
	}
	if p.running {
		if !p.again {
			p.again, p.againAt = true, since
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

// hold marks a change of container id as under way until the returned
// function is called with the sequence number of the inspect (or removal)
// that recorded its outcome, 0 if none did. Events of id that arrive
// meanwhile are then dropped if that observation began after them, and
// inspected otherwise. Only full ids are held: events name containers so.
func (c *Cache) hold(id string) (release func(seq uint64)) {
	if len(id) != 64 || !isHex(id) {
		return func(uint64) {}
	}
	r := c.events
	r.mu.Lock()
	w := r.writes[id]
	if w == nil {
		w = &write{}
		r.writes[id] = w
	}
	w.n++
	r.mu.Unlock()
	return func(seq uint64) {
		r.mu.Lock()
		w.n--
		if r.writes[id] != w || w.n > 0 {
			// The held events were flushed (and later ones are not
			// held), or another change of it is still under way: its
			// inspect, the later one, decides.
			r.mu.Unlock()
			return
		}
		delete(r.writes, id)
		held, ctx, since := w.held, w.heldCtx, w.since
		covered := seq != 0 && w.heldSeq < seq
		if w.timer != nil {
			w.timer.Stop()
		}
		r.mu.Unlock()
		if held && !covered {
			c.scheduleSince(ctx, id, since)
		}
	}
}

// flushHeld runs the inspect for events that waited holdLimit on a change
// still under way (a stop's grace period): the events are applied as
// usual, and later ones of that change are no longer held.
func (c *Cache) flushHeld(id string, w *write) {
	r := c.events
	r.mu.Lock()
	if r.writes[id] != w || !w.held {
		r.mu.Unlock()
		return
	}
	delete(r.writes, id)
	ctx, since := w.heldCtx, w.since
	r.mu.Unlock()
	c.scheduleSince(ctx, id, since)
}
