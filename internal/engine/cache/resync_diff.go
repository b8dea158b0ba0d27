package cache

import (
	"hash/fnv"
	"maps"
	"slices"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// changedSince returns the listed containers whose listing differs from
// the cache's record of them (or that the cache does not hold): what a
// partial resync inspects. now is when the list was taken.
//
// A listing shows the state, the human status text (which carries the
// start or finish time, the exit code and the health), names, image,
// labels and network endpoints. A container that exited and started again
// without the cache seeing either event shows a new "Up …" time; the text
// is coarse for old containers ("Up 3 days"), but a change missed since
// the last resync is at most a resync period old and so shown to the
// second. What a listing cannot show at all (resources updated behind
// dockerlet's back, say) the periodic full resync repairs.
func (c *Cache) changedSince(list []container.Summary, now time.Time) []container.Summary {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []container.Summary
	for i := range list {
		s := &list[i]
		if e := c.entries[s.ID]; !e.live() || !sameListing(e, s, now) {
			out = append(out, *s)
		}
	}
	return out
}

// sameListing reports whether s is what Docker would list for e at now.
// A false "changed" costs one inspect; a false "same" would keep a stale
// record until the next full resync, so every doubt answers "changed".
func sameListing(e *entry, s *container.Summary, now time.Time) bool {
	have := &e.summary
	if s.State != have.State || s.ImageID != have.ImageID || !slices.Equal(s.Names, have.Names) {
		return false
	}
	if s.Status != status(e.inspect.State, e.times, now) {
		return false
	}
	if !maps.Equal(s.Labels, have.Labels) {
		return false
	}
	return sameEndpoints(s.NetworkSettings, have.NetworkSettings)
}

// sameEndpoints compares the listed endpoints a with the cached b. A
// listing without network settings shows nothing to compare (Docker always
// includes them; the fake engine does not).
func sameEndpoints(a, b *container.NetworkSettingsSummary) bool {
	if a == nil {
		return true
	}
	na, nb := a.Networks, map[string]*network.EndpointSettings(nil)
	if b != nil {
		nb = b.Networks
	}
	if len(na) != len(nb) {
		return false
	}
	for k, x := range na {
		y, ok := nb[k]
		if !ok || (x == nil) != (y == nil) {
			return false
		}
		if x != nil && (x.NetworkID != y.NetworkID || x.EndpointID != y.EndpointID ||
			x.IPAddress != y.IPAddress || x.GlobalIPv6Address != y.GlobalIPv6Address) {
			return false
		}
	}
	return true
}

// inTurn adds to todo the listed containers whose turn share is (a stable
// hash of the id modulo fullEvery), those not in todo already: over
// fullEvery periodic resyncs every container is inspected once.
func (c *Cache) inTurn(list, todo []container.Summary, share int) []container.Summary {
	have := make(map[string]bool, len(todo))
	for _, s := range todo {
		have[s.ID] = true
	}
	for _, s := range list {
		if !have[s.ID] && turnOf(s.ID, c.opts.fullEvery) == share {
			todo = append(todo, s)
		}
	}
	return todo
}

// turnOf is id's share of the rotation among n.
func turnOf(id string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}
