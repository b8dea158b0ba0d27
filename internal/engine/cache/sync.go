package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// healthyStream resets the back-off: a stream that lived this long was
	// not failing in a loop.
	healthyStream = 30 * time.Second
	// sinceSlack replays the events of the last moments on (re)subscribe:
	// the subscription may reach the daemon after Events returns.
	sinceSlack = 2 * time.Second
	// resyncWorkers bounds concurrent inspects during a resync.
	resyncWorkers = 4
	// fullResyncEvery: each container is inspected afresh once in this
	// many periodic resyncs, a share of them in each (inTurn); otherwise a
	// periodic resync inspects only those whose listing differs from the
	// cache (changedSince).
	fullResyncEvery = 10
	// settleDelay: a full resync this long after each reconnect. A daemon
	// that has just restarted is still settling (exits of restored
	// containers are processed after it answers; its list view may lag its
	// inspect view), and a change it makes then without an event would
	// otherwise wait for the next full resync.
	settleDelay = 5 * time.Second
)

// ignoredActions change nothing the cache holds (exec probes would
// otherwise cost an inspect each; ExecIDs is therefore not kept current).
var ignoredActions = map[string]bool{
	"exec_create": true, "exec_start": true, "exec_die": true, "exec_detach": true,
	"attach": true, "detach": true, "resize": true, "top": true, "copy": true,
	"archive-path": true, "extract-to-dir": true, "export": true, "commit": true,
}

// run is the background loop: subscribe, resync, apply events; on a stream
// failure mark stale, back off and start over.
func (c *Cache) run(ctx context.Context, first chan struct{}) {
	defer close(c.done)
	var once sync.Once
	signalFirst := func() { once.Do(func() { close(first) }) }
	defer signalFirst()
	backoff := minBackoff
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			if c.opts.Metrics != nil {
				c.opts.Metrics.EventStreamReconnect()
			}
		}
		began := time.Now()
		err := c.stream(ctx, attempt == 0, signalFirst)
		if ctx.Err() != nil {
			return
		}
		// Quiet: the reconnect below resyncs first anyway; a queued request
		// would only add a second full resync after it.
		c.markStaleQuiet()
		signalFirst()
		if time.Since(began) > healthyStream {
			backoff = minBackoff
		}
		c.log.Warn("docker event stream ended; reconnecting and resyncing", "err", err, "backoff", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// stream runs one event subscription until it fails. The resync happens
// after subscribing, so every change is either in the resync or an event.
func (c *Cache) stream(ctx context.Context, initial bool, synced func()) error {
	c.conns.Add(1) // a new connection may reach a different (upgraded) daemon
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errc := c.eng.Events(sctx, engine.EventsOptions{
		Since:  c.daemonNow(sctx).Add(-sinceSlack),
		Labels: []string{c.opts.LabelFilter},
	})
	q := newQueue()
	go q.fill(sctx, events, errc)

	reason := "reconnect"
	if initial {
		reason = "start"
	}
	// Retry the resync until it works or the stream ends.
	for backoff := minBackoff; ; backoff = min(2*backoff, maxBackoff) {
		err := c.resync(sctx, reason, true, -1)
		if err == nil {
			break
		}
		c.log.Warn("cache resync failed; answering from the engine", "err", err, "retry", backoff)
		synced()
		select {
		case <-time.After(backoff):
		case <-q.ended:
			return q.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	synced()

	tick := time.NewTicker(c.opts.ResyncPeriod)
	defer tick.Stop()
	var settleC <-chan time.Time
	if !initial {
		settleC = time.After(c.opts.settleAfter)
	}
	// Resyncs run beside event handling, one at a time: a slow one (Docker
	// stuck on a container) must not stop events from being applied. A
	// failing one is retried with back-off (the cache answers from the
	// engine meanwhile), not in a tight loop against a struggling daemon.
	retry := minBackoff
	var retryC <-chan time.Time
	running := false
	wanted := "" // a resync asked for while one ran; started when it ends
	done := make(chan error, 1)
	periodic := 0
	start := func(reason string) {
		if running {
			// The running one may have begun before the reason for this
			// one (a stale mark it cannot clear): run again after it. A
			// periodic tick is simply skipped; the next one comes.
			if reason != "periodic" {
				wanted = reason
			}
			return
		}
		running = true
		full, share := true, -1
		if reason == "periodic" {
			// A periodic resync compares the list with the cache and
			// inspects what differs, and also one fullResyncEvery-th of
			// the containers in turn, for what a list cannot show: each
			// is inspected afresh every fullResyncEvery periods, without
			// a burst of one inspect per container (at 250 pods, 500
			// inspects at once cost a third of a second of CPU and
			// 10 MiB of heap).
			full, share = false, periodic%c.opts.fullEvery
			periodic++
		}
		go func() { done <- c.resync(sctx, reason, full, share) }()
	}
	for {
		select {
		case <-q.wake:
			c.apply(sctx, q.take())
		case <-q.ended:
			c.apply(sctx, q.take())
			return q.err
		case <-tick.C:
			start("periodic")
		case <-settleC:
			settleC = nil
			start("settle")
		case <-c.resyncNow:
			if retryC == nil { // a retry is already scheduled otherwise
				start("requested")
			}
		case <-retryC:
			retryC = nil
			start("retry")
		case err := <-done:
			running = false
			if err != nil {
				c.log.Warn("cache resync failed; answering from the engine", "err", err, "retry", retry)
				c.markStaleQuiet()
				retryC = time.After(retry)
				retry = min(2*retry, maxBackoff)
			} else {
				retry = minBackoff
			}
			if w := wanted; w != "" && retryC == nil {
				wanted = ""
				start(w)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// daemonNow is the daemon's clock, which Docker's Since filter uses: a
// remote daemon's may differ from ours by more than sinceSlack. Falls back
// to the local clock.
func (c *Cache) daemonNow(ctx context.Context) time.Time {
	local := time.Now()
	info, err := c.eng.Info(ctx)
	if err != nil || info == nil {
		return local
	}
	t, err := time.Parse(time.RFC3339Nano, info.SystemTime)
	if err != nil || t.IsZero() {
		return local
	}
	return t
}

// apply hands each container named in a batch of events to the refresher
// (destroy: forget it at once, no inspect needed).
func (c *Cache) apply(ctx context.Context, batch []engine.Event) {
	for _, ev := range batch {
		switch {
		case ev.ContainerID == "" || ignoredActions[ev.Action]:
		case ev.Action == "destroy":
			c.remove(c.observe(), ev.ContainerID)
		default:
			c.schedule(ctx, ev.ContainerID)
		}
	}
}

// resync lists the cached set afresh and inspects every member (full), or
// only the members whose listing differs from what the cache holds plus,
// when share ≥ 0, those in that share of the rotation (inTurn). A partial
// resync runs only while the cache is synced: it can find changes the
// events missed, but it cannot vouch for records a failed refresh left
// behind (those come with markStale, and the resync it requests is full).
func (c *Cache) resync(ctx context.Context, reason string, full bool, share int) (err error) {
	start := time.Now()
	defer func() {
		if c.opts.Metrics != nil {
			c.opts.Metrics.CacheResync(reason, time.Since(start), err)
		}
	}()
	// Numbered before the synced check: a stale mark after this number
	// keeps this resync from marking the cache synced; one before it is
	// seen here and makes it full.
	seq := c.observe()
	if !c.Synced() {
		full = true
	}
	list, err := c.eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{c.opts.LabelFilter}})
	if err != nil {
		return fmt.Errorf("resync: list: %w", err)
	}
	todo := list
	if !full {
		todo = c.changedSince(list, time.Now())
		if share >= 0 {
			todo = c.inTurn(list, todo, share)
		}
	}
	results := make([]*container.InspectResponse, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, resyncWorkers)
	for i := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ictx, cancel := context.WithTimeout(ctx, inspectTimeout)
			defer cancel()
			results[i], errs[i] = c.eng.InspectContainer(ictx, todo[i].ID)
		}()
	}
	wg.Wait()
	for i, s := range todo {
		switch {
		case errs[i] == nil:
			c.store(seq, results[i])
		case errdefs.IsNotFound(errs[i]):
			c.remove(seq, s.ID)
		default:
			return fmt.Errorf("resync: inspect %s: %w", s.ID, errs[i])
		}
	}
	listed := make(map[string]bool, len(list))
	for _, s := range list {
		listed[s.ID] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range c.entries {
		switch {
		case e.live() && e.seq < seq && !listed[id]:
			c.removeLocked(seq, id)
		case e.gone && time.Since(e.goneAt) > tombstoneTTL:
			delete(c.entries, id)
		}
	}
	if seq > c.staleSeq {
		c.synced = true
	}
	c.log.Debug("cache resynced", "reason", reason, "full", full, "containers", len(list), "inspected", len(todo), "took", time.Since(start))
	return nil
}

// markStaleQuiet is markStale without asking for another resync.
func (c *Cache) markStaleQuiet() {
	seq := c.observe()
	c.mu.Lock()
	c.synced = false
	c.staleSeq = max(c.staleSeq, seq)
	c.mu.Unlock()
}

// queue decouples reading the event stream from applying it: Docker drops
// events for a subscriber that does not keep up, so the reader never waits
// for an inspect.
type queue struct {
	mu     sync.Mutex
	events []engine.Event
	wake   chan struct{}
	ended  chan struct{}
	err    error // valid after ended is closed
}

func newQueue() *queue {
	return &queue{wake: make(chan struct{}, 1), ended: make(chan struct{})}
}

func (q *queue) fill(ctx context.Context, events <-chan engine.Event, errc <-chan error) {
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil // closed: wait for the error
				continue
			}
			q.mu.Lock()
			q.events = append(q.events, ev)
			q.mu.Unlock()
			select {
			case q.wake <- struct{}{}:
			default:
			}
		case err := <-errc:
			if err == nil {
				err = errors.New("event stream closed")
			}
			q.err = err
			close(q.ended)
			return
		case <-ctx.Done():
			q.err = ctx.Err()
			close(q.ended)
			return
		}
	}
}

func (q *queue) take() []engine.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.events
	q.events = nil
	return b
}
