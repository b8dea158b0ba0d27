package cache

import (
	"slices"
	"strings"
	"time"
	"unique"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// tombstoneTTL is how long a deleted id is remembered so that a slow, older
// observation cannot bring it back. Far longer than any request timeout.
const tombstoneTTL = 10 * time.Minute

// entry is one container's cached state. Entries are immutable once
// published: an update replaces the pointer, never the contents, so
// readers may use one after releasing the lock.
type entry struct {
	seq      uint64 // observation that produced it
	gone     bool   // tombstone: the container was removed
	goneAt   time.Time
	inspect  *container.InspectResponse // slim: see slim.go
	interned []unique.Handle[string]    // keep inspect's interned strings canonical
	summary  container.Summary
	shared   *Shared // points at summary; see Shared for the ownership rule
	created  time.Time
	times    times // parsed State.StartedAt/FinishedAt
}

func (e *entry) live() bool { return e != nil && !e.gone }

func (e *entry) name() string { return strings.TrimPrefix(e.inspect.Name, "/") }

// changedLocked drops what is derived from the set of live entries (the
// sorted list, ListShared's results); every change to it calls it.
func (c *Cache) changedLocked() {
	c.sorted = nil
	c.byIndex = nil
	c.lists = nil
	c.gen++
}

// observe returns the sequence number of an observation about to be made.
// Take it before calling the engine: the result reflects the engine's state
// at some point after this number was handed out.
func (c *Cache) observe() uint64 { return c.seq.Add(1) }

// store records an inspect result observed at seq. A container that lost
// the label (or never had it) is forgotten.
func (c *Cache) store(seq uint64, in *container.InspectResponse) {
	if in == nil || in.ID == "" {
		return
	}
	if !c.managed(labelsOf(in)) {
		c.forget(in.ID) // not ours; Docker labels never change, so rare
		return
	}
	// Kept in an allocation of its own: the engine's pointer may point into
	// a larger response (moby's client keeps the raw JSON, ~8 KiB, beside
	// the decoded record), which the cache must not keep alive. slim drops
	// what no reader uses and shares repeated strings.
	in, interned := slim(in, c.sandboxOf(in))
	ne := &entry{seq: seq, inspect: in, interned: interned, summary: summarize(in), created: created(in), times: parseTimes(in.State)}
	ne.shared = &Shared{Summary: &ne.summary, Inspected: true, StartFailed: startFailed(in.State, ne.times)}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.entries[in.ID]
	if old != nil && old.seq >= seq {
		return // a newer observation is already stored
	}
	c.entries[in.ID] = ne
	if old.live() && old.name() != ne.name() && c.names[old.name()] == in.ID {
		delete(c.names, old.name())
	}
	c.names[ne.name()] = in.ID
	c.changedLocked()
	if !old.live() {
		old = nil
	}
	c.publishLocked(old, ne)
}

// sandboxOf returns the cached record of in's sandbox, if any: a
// container's record shares its pod's strings with it.
func (c *Cache) sandboxOf(in *container.InspectResponse) *container.InspectResponse {
	id := labelsOf(in)[naming.LabelSandboxID]
	if id == "" {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e := c.entries[id]; e.live() {
		return e.inspect
	}
	return nil
}

// remove records that id is gone as of seq.
func (c *Cache) remove(seq uint64, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(seq, id)
}

func (c *Cache) removeLocked(seq uint64, id string) {
	old := c.entries[id]
	if old != nil && old.seq >= seq {
		return
	}
	c.entries[id] = &entry{seq: seq, gone: true, goneAt: time.Now()}
	if old.live() {
		if c.names[old.name()] == id {
			delete(c.names, old.name())
		}
		c.changedLocked()
		c.publishLocked(old, nil)
	}
}

// forget drops a container that is outside the cached set without a
// tombstone: reads of it go to the engine.
func (c *Cache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.entries[id]
	if old == nil {
		return
	}
	delete(c.entries, id)
	if old.live() {
		if c.names[old.name()] == id {
			delete(c.names, old.name())
		}
		c.changedLocked()
		c.publishLocked(old, nil)
	}
}

// markStale makes reads pass through until a resync that starts after now
// completes, and asks the loop for that resync.
func (c *Cache) markStale(why string) {
	seq := c.observe()
	c.mu.Lock()
	c.synced = false
	c.staleSeq = max(c.staleSeq, seq)
	c.mu.Unlock()
	c.log.Debug("cache marked stale", "reason", why)
	select {
	case c.resyncNow <- struct{}{}:
	default:
	}
}

// lookupLocked resolves a container reference among live entries as Docker
// does: full id, exact name, then unique id prefix. Prefixes shorter than a
// short id (12) are not resolved here: the engine may hold an unmanaged
// container that matches them better. ok=false means "not decidable from
// the cache"; gone=true means the id is a known removed container.
func (c *Cache) lookupLocked(ref string) (e *entry, gone, ok bool) {
	if e := c.entries[ref]; e != nil {
		return e, e.gone, true
	}
	if id, found := c.names[strings.TrimPrefix(ref, "/")]; found {
		return c.entries[id], false, true
	}
	if len(ref) < 12 || len(ref) >= 64 || !isHex(ref) {
		return nil, false, false
	}
	var match *entry
	for id, e := range c.entries {
		if e.live() && strings.HasPrefix(id, ref) {
			if match != nil {
				return nil, false, false // ambiguous: let the engine say so
			}
			match = e
		}
	}
	return match, false, match != nil
}

func isHex(s string) bool {
	for i := range len(s) {
		b := s[i]
		if !('0' <= b && b <= '9' || 'a' <= b && b <= 'f') {
			return false
		}
	}
	return true
}

// sortedLive returns the live entries newest first. The slice is immutable
// and may be used after the lock is released.
func (c *Cache) sortedLive() (list []*entry, synced bool) {
	c.mu.RLock()
	list, synced = c.sorted, c.synced
	c.mu.RUnlock()
	if list != nil || !synced {
		return list, synced
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sortedLocked(), c.synced
}

// sortedLocked returns the live entries, newest first, building the list
// if a change dropped it. The caller holds c.mu for writing.
func (c *Cache) sortedLocked() []*entry {
	if c.sorted == nil {
		s := make([]*entry, 0, len(c.names))
		for _, e := range c.entries {
			if e.live() {
				s = append(s, e)
			}
		}
		slices.SortFunc(s, func(a, b *entry) int {
			if d := b.created.Compare(a.created); d != 0 {
				return d
			}
			return strings.Compare(a.inspect.ID, b.inspect.ID)
		})
		c.sorted = s
	}
	return c.sorted
}

// indexedLive returns the live entries, newest first, whose IndexLabel is
// value: sortedLive narrowed through the index, which is built on the
// first such read after a change.
func (c *Cache) indexedLive(value string) (list []*entry, synced bool) {
	c.mu.RLock()
	idx, synced := c.byIndex, c.synced
	c.mu.RUnlock()
	if !synced {
		return nil, false
	}
	if idx == nil {
		c.mu.Lock()
		if c.byIndex == nil {
			idx = map[string][]*entry{}
			for _, e := range c.sortedLocked() {
				if v, ok := e.summary.Labels[c.opts.IndexLabel]; ok {
					idx[v] = append(idx[v], e)
				}
			}
			c.byIndex = idx
		}
		idx, synced = c.byIndex, c.synced
		c.mu.Unlock()
	}
	return idx[value], synced
}

// indexValue returns the value a list's label filters require of
// IndexLabel, if they require one.
func (c *Cache) indexValue(labels []string) (string, bool) {
	if c.opts.IndexLabel == "" {
		return "", false
	}
	for _, l := range labels {
		if k, v, ok := strings.Cut(l, "="); ok && k == c.opts.IndexLabel {
			return v, true
		}
	}
	return "", false
}

// candidates returns the live entries a cached list must match: those of
// one index value when the filters name one, else all.
func (c *Cache) candidates(opts engine.ListOptions) (list []*entry, synced, indexed bool) {
	if v, ok := c.indexValue(opts.Labels); ok {
		list, synced = c.indexedLive(v)
		return list, synced, true
	}
	list, synced = c.sortedLive()
	return list, synced, false
}
