package cache

import (
	"context"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// versionMemo is the daemon's version as answered during one event
// subscription.
type versionMemo struct {
	conn uint64
	v    engine.Version
}

// Version answers from memory while the cache is synced on the same event
// subscription that the remembered answer was taken on: a daemon cannot
// change its version without ending that stream (a restart or upgrade ends
// it, and the reconnect starts a new subscription). The kubelet asks for
// the version on every runtime health check; this keeps those off Docker.
func (c *Cache) Version(ctx context.Context) (*engine.Version, error) {
	conn := c.conns.Load()
	if m := c.version.Load(); m != nil && m.conn == conn && c.Synced() {
		v := m.v
		return &v, nil
	}
	// The subscription number is read before the call: an answer from a
	// daemon that has since been replaced is remembered under the old
	// number and never served on the new one.
	v, err := c.eng.Version(ctx)
	if err != nil {
		return nil, err
	}
	if c.Synced() {
		c.version.Store(&versionMemo{conn: conn, v: *v})
	}
	return v, nil
}
