package cache

import (
	"context"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// refreshTimeout bounds the read-your-writes inspect. It runs even when the
// caller's context has ended: the engine may have acted anyway.
const refreshTimeout = 30 * time.Second

// CreateContainer implements engine.Engine; the new container is in the
// cache when it returns.
func (c *Cache) CreateContainer(ctx context.Context, spec engine.CreateSpec) (string, error) {
	id, err := c.eng.CreateContainer(ctx, spec)
	if err != nil {
		if peer := engine.JoinPeer(err); peer != "" {
			c.refresh(ctx, peer, nil) // as in StartContainer
		}
		return "", err
	}
	c.refresh(ctx, id, nil)
	return id, nil
}

// StartContainer implements engine.Engine with read-your-writes.
func (c *Cache) StartContainer(ctx context.Context, id string) error {
	release := c.hold(id)
	err := c.eng.StartContainer(ctx, id)
	release(c.refresh(ctx, id, err))
	if peer := engine.JoinPeer(err); peer != "" {
		// Docker refused because of the peer's state (a sandbox it has
		// stopped, or no longer shares): whatever the cache holds for the
		// peer is checked, since its callers act on it next.
		c.refresh(ctx, peer, nil)
	}
	return err
}

// StopContainer implements engine.Engine with read-your-writes.
func (c *Cache) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	release := c.hold(id)
	err := c.eng.StopContainer(ctx, id, timeout)
	release(c.refresh(ctx, id, err))
	return err
}

// KillContainer implements engine.Engine with read-your-writes.
func (c *Cache) KillContainer(ctx context.Context, id, signal string) error {
	release := c.hold(id)
	err := c.eng.KillContainer(ctx, id, signal)
	release(c.refresh(ctx, id, err))
	return err
}

// UpdateContainerResources implements engine.Engine with read-your-writes.
func (c *Cache) UpdateContainerResources(ctx context.Context, id string, res container.Resources) error {
	release := c.hold(id)
	err := c.eng.UpdateContainerResources(ctx, id, res)
	release(c.refresh(ctx, id, err))
	return err
}

// RemoveContainer implements engine.Engine; the container is gone from the
// cache when it returns.
func (c *Cache) RemoveContainer(ctx context.Context, id string, opts engine.RemoveOptions) error {
	release := c.hold(id)
	err := c.eng.RemoveContainer(ctx, id, opts)
	if err != nil {
		release(c.refresh(ctx, id, err))
		return err
	}
	// Numbered after the removal: any inspect that could still see the
	// container started before it and loses to this tombstone.
	seq := c.observe()
	defer release(seq)
	c.mu.Lock()
	e, gone, ok := c.lookupLocked(id)
	if ok && !gone {
		c.removeLocked(seq, e.inspect.ID)
	}
	var maybe []string
	if !ok {
		// A short prefix the cache does not resolve on its own: whichever
		// cached container it may have named is checked with the engine.
		for cid, e := range c.entries {
			if e.live() && strings.HasPrefix(cid, id) {
				maybe = append(maybe, cid)
			}
		}
	}
	c.mu.Unlock()
	for _, cid := range maybe {
		c.refresh(ctx, cid, nil)
	}
	return nil
}

// refresh re-inspects the container ref after a mutating call (opErr is
// that call's result) and updates the cache. If the cache cannot learn the
// container's state it marks itself stale, so that reads pass through until
// the next resync rather than answer from a record that may be outdated.
// It returns the sequence number of the observation it recorded, 0 if none.
func (c *Cache) refresh(ctx context.Context, ref string, opErr error) uint64 {
	c.mu.RLock()
	e, _, known := c.lookupLocked(ref)
	c.mu.RUnlock()
	if errdefs.IsNotFound(opErr) && !known {
		return 0 // nothing happened to anything we hold
	}
	if errdefs.IsDeadlineExceeded(opErr) || errdefs.IsUnavailable(opErr) {
		// The daemon did not answer (hung, down, or the caller gave up): the
		// change may or may not have happened, and an inspect now would only
		// keep the caller waiting another request timeout.
		c.markStale("no answer to a change of " + ref)
		return 0
	}
	target := ref
	if known && e.live() {
		target = e.inspect.ID // a name may since belong to another container
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	seq := c.observe()
	in, err := c.eng.InspectContainer(rctx, target)
	switch {
	case err == nil:
		c.store(seq, in)
		return seq
	case errdefs.IsNotFound(err):
		if known && e.live() {
			c.remove(seq, e.inspect.ID)
			return seq
		}
	default:
		c.log.Warn("refresh after a container change failed; answering from the engine until resynced",
			"container", ref, "err", err)
		c.markStale("refresh of " + ref + " failed")
	}
	return 0
}
