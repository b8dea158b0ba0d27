// Package cache is an engine.Engine decorator that answers container List
// and Inspect calls from memory. It holds every container that carries the
// managed label, fed by Docker's event stream, so that the kubelet's relist
// every second never reaches Docker.
//
// Consistency:
//   - Full resync (list + inspect each) at start, after every event-stream
//     reconnect (the stream is re-subscribed first, so changes during the gap
//     are seen by the resync), and every ResyncPeriod as a safety net.
//   - While the cache is not known to be in sync (before the first resync,
//     between a stream error and the resync that follows it, after a failed
//     refresh), reads pass through to the engine: never stale answers.
//   - Read-your-writes: the container-mutating calls pass through and then
//     re-inspect (or forget) that container before they return.
//   - Every stored record carries the sequence number of the observation
//     that produced it (taken before the engine call); an older observation
//     never replaces a newer one, so concurrent refreshes cannot regress.
//
// Returned values are deep copies; callers may mutate them. Change values
// from Subscribe are the exception: they share the cache's immutable
// snapshots and must be treated as read-only.
package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// DefaultResyncPeriod is the safety-net resync interval.
const DefaultResyncPeriod = time.Minute

// Metrics receives the cache's health signals. internal/metrics implements
// it; nil means none.
type Metrics interface {
	// CacheResync is called after every full resync attempt.
	CacheResync(reason string, d time.Duration, err error)
	// EventStreamReconnect is called each time the event stream is
	// re-subscribed after it ended or failed.
	EventStreamReconnect()
}

// Options configure a Cache.
type Options struct {
	// LabelFilter selects the cached containers ("key=value" or "key").
	// Default naming.ManagedLabelFilter. List calls whose Labels include it
	// are answered from memory.
	LabelFilter string
	// IndexLabel, if set, is a label key the cache indexes by value: a
	// cached List whose label filters include "IndexLabel=value" reads only
	// the containers carrying that value, not every container (the CRI's
	// per-pod reads — a sandbox's status lists its containers — would
	// otherwise cost a scan of the whole node each).
	IndexLabel string
	// ResyncPeriod between safety-net resyncs; default DefaultResyncPeriod.
	ResyncPeriod time.Duration
	Logger       *slog.Logger
	Metrics      Metrics

	// fullEvery: each container is inspected once in this many periodic
	// resyncs (a share of them in each); tests change
	// it. Default fullResyncEvery.
	fullEvery int
	// settleAfter: delay of the extra full resync after a reconnect; tests
	// change it. Default settleDelay.
	settleAfter time.Duration
}

// Cache is the caching engine.Engine. Methods it does not override pass
// through to the wrapped engine.
type Cache struct {
	engine.Engine // pass-through for everything not overridden

	eng        engine.Engine
	opts       Options
	log        *slog.Logger
	labelKey   string
	labelValue string
	hasValue   bool

	seq atomic.Uint64 // observation order; see store

	conns   atomic.Uint64 // event subscriptions begun; see Version
	version atomic.Pointer[versionMemo]

	mu       sync.RWMutex
	entries  map[string]*entry    // by full id; includes tombstones
	names    map[string]string    // name without "/" → id, live entries only
	sorted   []*entry             // live entries, newest first; nil: rebuild
	byIndex  map[string][]*entry  // sorted, by IndexLabel's value; nil: rebuild
	lists    map[string][]*Shared // ListShared results until the next change
	gen      uint64               // counts changes to the live set
	synced   bool                 // false: reads pass through
	staleSeq uint64               // a resync must start after this to mark synced
	subs     map[*subscriber]struct{}
	subQueue int // per-subscriber backlog limit; tests lower it

	events    *refresher
	resyncNow chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

var _ engine.Engine = (*Cache)(nil)

// New starts a cache over eng. It attempts the first resync before it
// returns (bounded by ctx); if that fails the cache starts unsynced, serves
// reads from the engine and keeps retrying in the background. The cache runs
// until Close.
func New(ctx context.Context, eng engine.Engine, opts Options) (*Cache, error) {
	if eng == nil {
		return nil, errors.New("cache: engine is required")
	}
	if opts.LabelFilter == "" {
		opts.LabelFilter = naming.ManagedLabelFilter
	}
	if opts.ResyncPeriod == 0 {
		opts.ResyncPeriod = DefaultResyncPeriod
	}
	if opts.ResyncPeriod < 0 {
		return nil, fmt.Errorf("cache: negative resync period %s: %w", opts.ResyncPeriod, errdefs.ErrInvalidArgument)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.fullEvery <= 0 {
		opts.fullEvery = fullResyncEvery
	}
	if opts.settleAfter <= 0 {
		opts.settleAfter = settleDelay
	}
	key, value, hasValue := strings.Cut(opts.LabelFilter, "=")
	if key == "" {
		return nil, fmt.Errorf("cache: bad label filter %q: %w", opts.LabelFilter, errdefs.ErrInvalidArgument)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &Cache{
		Engine:     eng,
		eng:        eng,
		opts:       opts,
		log:        opts.Logger.With("component", "engine-cache"),
		labelKey:   key,
		labelValue: value,
		hasValue:   hasValue,
		entries:    map[string]*entry{},
		names:      map[string]string{},
		subs:       map[*subscriber]struct{}{},
		subQueue:   subscriberQueue,
		events:     newRefresher(),
		resyncNow:  make(chan struct{}, 1),
		cancel:     cancel,
		done:       make(chan struct{}),
	}
	first := make(chan struct{})
	go c.run(runCtx, first)
	select {
	case <-first:
	case <-ctx.Done():
	}
	return c, nil
}

// Close stops the background loop and ends all subscriptions.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		<-c.done
		c.mu.Lock()
		for s := range c.subs {
			s.close()
			delete(c.subs, s)
		}
		c.mu.Unlock()
	})
	return nil
}

// Synced reports whether reads are currently answered from memory.
func (c *Cache) Synced() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.synced
}

// managed reports whether labels put a container in the cached set.
func (c *Cache) managed(labels map[string]string) bool {
	v, ok := labels[c.labelKey]
	return ok && (!c.hasValue || v == c.labelValue)
}

func labelsOf(in *container.InspectResponse) map[string]string {
	if in.Config == nil {
		return nil
	}
	return in.Config.Labels
}
