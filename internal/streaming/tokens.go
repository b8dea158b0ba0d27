package streaming

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrTooManyInFlight is returned by Get* when too many URLs are handed out
// and not yet used. It carries the gRPC code ResourceExhausted.
var ErrTooManyInFlight = status.Error(codes.ResourceExhausted, "too many streaming requests in flight")

const (
	// maxInFlight bounds the token cache, as the kubelet's streaming server does.
	maxInFlight = 1000
	// tokenBytes of crypto/rand entropy per token (256 bits).
	tokenBytes = 32
)

// tokenCache hands out single-use, expiring tokens for cached requests so a
// streaming URL carries no request parameters and cannot be replayed.
type tokenCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]tokenEntry
}

type tokenEntry struct {
	req     any // *runtimeapi.ExecRequest, *AttachRequest or *PortForwardRequest
	expires time.Time
}

func newTokenCache(ttl time.Duration, now func() time.Time) *tokenCache {
	return &tokenCache{ttl: ttl, now: now, entries: make(map[string]tokenEntry)}
}

// insert stores req and returns its token.
func (c *tokenCache) insert(req any) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gcLocked()
	if len(c.entries) >= maxInFlight {
		return "", ErrTooManyInFlight
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate streaming token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	c.entries[token] = tokenEntry{req: req, expires: c.now().Add(c.ttl)}
	return token, nil
}

// consume removes token and returns its request if it has not expired.
func (c *tokenCache) consume(token string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[token]
	if !ok {
		return nil, false
	}
	delete(c.entries, token)
	if c.now().After(e.expires) {
		return nil, false
	}
	return e.req, true
}

// gcLocked drops expired entries. A linear sweep is fine at maxInFlight.
func (c *tokenCache) gcLocked() {
	now := c.now()
	for tok, e := range c.entries {
		if now.After(e.expires) {
			delete(c.entries, tok)
		}
	}
}
