package cache

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// ListContainers implements engine.Engine. Requests whose label filters
// include the cache's label filter are answered from memory (when in sync);
// all others go to the engine. The result is a fresh deep copy.
func (c *Cache) ListContainers(ctx context.Context, opts engine.ListOptions) ([]container.Summary, error) {
	if !slices.Contains(opts.Labels, c.opts.LabelFilter) {
		return c.eng.ListContainers(ctx, opts)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	list, synced, _ := c.candidates(opts)
	if !synced || c.events.behind() {
		return c.eng.ListContainers(ctx, opts)
	}
	m, err := newMatcher(opts)
	if err != nil {
		return nil, err
	}
	var hits []*entry
	for _, e := range list {
		if m.match(e) {
			hits = append(hits, e)
		}
	}
	now := time.Now()
	out := make([]container.Summary, 0, len(hits))
	for _, e := range hits {
		s := copySummary(&e.summary)
		s.Status = status(e.inspect.State, e.times, now)
		out = append(out, s)
	}
	return out, nil
}

// InspectContainer implements engine.Engine. A reference that resolves to a
// cached container (id, name or unique prefix of at least 12 digits) is
// answered from memory with a deep copy of the cache's record, which lacks
// the fields no reader uses (see slim); a known-removed id gets
// errdefs.ErrNotFound; anything else goes to the engine.
func (c *Cache) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	r, cached, err := c.inspect(ctx, id)
	if err != nil || !cached {
		return r, err
	}
	return new(deepCopy(*r)), nil
}

// inspect answers from memory when it can (cached true: the record is the
// cache's own, read-only) and from the engine otherwise.
func (c *Cache) inspect(ctx context.Context, id string) (r *container.InspectResponse, cached bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("inspect container %s: %w", id, err)
	}
	c.mu.RLock()
	e, gone, ok := c.lookupLocked(id)
	synced := c.synced
	c.mu.RUnlock()
	if !ok || !synced || c.events.behind() {
		r, err := c.eng.InspectContainer(ctx, id)
		return r, false, err
	}
	if gone {
		return nil, false, fmt.Errorf("no such container: %s: %w", id, errdefs.ErrNotFound)
	}
	return e.inspect, true, nil
}

// matcher applies engine.ListOptions with Docker's semantics: without All
// only running containers (unless a status filter is given); every label
// filter must match; IDs match by prefix; Names are regular expressions
// matched against the name with or without its leading "/"; Status values
// match the state ("running", "exited", …).
type matcher struct {
	opts   engine.ListOptions
	labels []labelFilter
	names  []*regexp.Regexp
}

type labelFilter struct {
	key, value string
	hasValue   bool
}

func newMatcher(opts engine.ListOptions) (*matcher, error) {
	m := &matcher{opts: opts}
	for _, l := range opts.Labels {
		k, v, has := strings.Cut(l, "=")
		m.labels = append(m.labels, labelFilter{k, v, has})
	}
	for _, n := range opts.Names {
		re, err := regexp.Compile(n)
		if err != nil {
			return nil, fmt.Errorf("bad name filter %q: %v: %w", n, err, errdefs.ErrInvalidArgument)
		}
		m.names = append(m.names, re)
	}
	return m, nil
}

func (m *matcher) match(e *entry) bool {
	st := e.inspect.State
	running := st != nil && st.Running
	if !m.opts.All && len(m.opts.Status) == 0 && !running {
		return false
	}
	if len(m.opts.Status) > 0 && (st == nil || !slices.Contains(m.opts.Status, string(st.Status))) {
		return false
	}
	for _, l := range m.labels {
		v, ok := e.summary.Labels[l.key]
		if !ok || (l.hasValue && v != l.value) {
			return false
		}
	}
	if len(m.opts.IDs) > 0 && !slices.ContainsFunc(m.opts.IDs, func(p string) bool {
		return strings.HasPrefix(e.inspect.ID, p)
	}) {
		return false
	}
	if len(m.names) > 0 {
		name := e.name()
		if !slices.ContainsFunc(m.names, func(re *regexp.Regexp) bool {
			return re.MatchString(name) || re.MatchString("/"+name)
		}) {
			return false
		}
	}
	return true
}
