package cache

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// Shared is one container's listing as the cache holds it, handed out
// without a copy (ListShared): the kubelet relists every container every
// second, and copying each one's labels for every call was most of the
// cost of a relist.
//
// Ownership: the cache builds a Shared when it stores an observation and
// never changes it afterwards; a change to the container publishes a new
// Shared. Callers only read it: Summary and everything it reaches (Labels,
// Names, Mounts, NetworkSettings, …) must not be modified, not even
// briefly. TestSharedStaysUnmodified (internal/cri's List and stats RPCs
// over the cache, run under the race detector in CI) holds the CRI layer
// to this.
type Shared struct {
	// Summary is the listing; its Status (clock-dependent text) is empty
	// for cached containers.
	Summary *container.Summary
	// Inspected is set on the cache's own records, which are built from
	// an inspect; StartFailed is known only for those. Docker lists a
	// container whose start failed as "created" (its inspect record has
	// the error), which a CRI client must see as exited.
	Inspected   bool
	StartFailed bool
	derived     atomic.Pointer[derivedValue]
}

type derivedValue struct{ v any }

// Derived returns the value a caller attached with SetDerived, or nil.
func (s *Shared) Derived() any {
	if d := s.derived.Load(); d != nil {
		return d.v
	}
	return nil
}

// SetDerived attaches a value computed from Summary alone (a CRI item, say)
// so that later listings of the same snapshot reuse it; it lives exactly as
// long as the snapshot. The value is shared like the snapshot: read-only.
// Concurrent callers may both attach; either value is kept.
func (s *Shared) SetDerived(v any) { s.derived.Store(&derivedValue{v}) }

// ListShared answers like ListContainers, without copies: the results are
// the cache's shared, read-only snapshots (see Shared), and so is the
// returned slice — the same one for the same request until something in
// the cache changes (the kubelet asks the same two questions every
// second). Requests outside the cached set, or made while the cache is not
// in sync, go to the engine; its results are wrapped the same way.
func (c *Cache) ListShared(ctx context.Context, opts engine.ListOptions) ([]*Shared, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	cached := slices.Contains(opts.Labels, c.opts.LabelFilter)
	key := listKey(opts)
	if cached && !c.events.behind() {
		c.mu.RLock()
		hit, ok := c.lists[key]
		synced := c.synced
		c.mu.RUnlock()
		if ok && synced {
			return hit, nil
		}
	}
	var list []*entry
	synced, gen, indexed := false, uint64(0), false
	if cached {
		list, synced, indexed = c.candidates(opts)
		c.mu.RLock()
		// The list above may predate a change that gen already counts: then
		// the result is still right for this call, but not memoised.
		gen = c.gen
		if c.sorted == nil || len(c.sorted) != len(list) || (len(list) > 0 && &c.sorted[0] != &list[0]) {
			gen--
		}
		c.mu.RUnlock()
	}
	if !synced || c.events.behind() {
		fresh, err := c.eng.ListContainers(ctx, opts)
		if err != nil {
			return nil, err
		}
		return WrapShared(fresh), nil
	}
	m, err := newMatcher(opts)
	if err != nil {
		return nil, err
	}
	out := make([]*Shared, 0, len(list))
	for _, e := range list {
		if m.match(e) {
			out = append(out, e.shared)
		}
	}
	if indexed {
		return out, nil // cheap to find again; the memo is for the node-wide lists
	}
	c.mu.Lock()
	if c.gen == gen && c.synced {
		if c.lists == nil || len(c.lists) >= maxListMemo {
			c.lists = map[string][]*Shared{}
		}
		c.lists[key] = out
	}
	c.mu.Unlock()
	return out, nil
}

// maxListMemo bounds the distinct requests ListShared remembers (label
// selectors come in map order, so one selector may take several keys).
const maxListMemo = 32

func listKey(o engine.ListOptions) string {
	var b strings.Builder
	b.WriteString(strconv.FormatBool(o.All))
	for _, part := range [][]string{o.Labels, o.IDs, o.Names, o.Status} {
		b.WriteByte(1)
		for _, v := range part {
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	return b.String()
}

// WrapShared wraps summaries that belong to the caller (an engine's
// results) as Shared values, for code that takes either.
func WrapShared(list []container.Summary) []*Shared {
	out := make([]*Shared, len(list))
	for i := range list {
		out[i] = &Shared{Summary: &list[i]}
	}
	return out
}

// InspectShared answers like InspectContainer without the copy: a cached
// container's record is the cache's own, shared and read-only like Shared
// (never modify it or anything it reaches). Anything not answered from
// memory goes to the engine.
func (c *Cache) InspectShared(ctx context.Context, id string) (*container.InspectResponse, error) {
	r, _, err := c.inspect(ctx, id)
	return r, err
}
