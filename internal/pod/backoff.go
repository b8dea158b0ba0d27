package pod

import (
	"strings"
	"sync"
	"time"
)

// The kubelet's crash-loop back-off: the first restart is immediate, then
// 10 s doubling up to 5 min; a container that ran for more than 10 min
// (twice the maximum) since the last restart starts over at 10 s.
const (
	BackoffInitial = 10 * time.Second
	BackoffMax     = 5 * time.Minute
)

// Backoff tracks restart delays per key (pod uid + container name).
type Backoff struct {
	initial, max time.Duration
	mu           sync.Mutex
	entries      map[string]*backoffEntry
}

type backoffEntry struct {
	delay      time.Duration
	lastUpdate time.Time
}

// NewBackoff returns a back-off with the given initial and maximum delay.
func NewBackoff(initial, max time.Duration) *Backoff {
	return &Backoff{initial: initial, max: max, entries: map[string]*backoffEntry{}}
}

// Next records a restart of key at eventTime (when the container last
// finished) and grows the delay for the one after.
func (b *Backoff) Next(key string, eventTime time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || b.expired(e, eventTime) {
		b.entries[key] = &backoffEntry{delay: b.initial, lastUpdate: eventTime}
		return
	}
	e.delay = min(2*e.delay, b.max)
	e.lastUpdate = eventTime
}

// InBackoff reports whether a restart of key for a container that finished
// at eventTime must still wait at now, and how long.
func (b *Backoff) InBackoff(key string, eventTime, now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || b.expired(e, eventTime) {
		return false, 0
	}
	if wait := e.delay - now.Sub(eventTime); wait > 0 {
		return true, wait
	}
	return false, 0
}

// Delay is the current delay of key (0 when none).
func (b *Backoff) Delay(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.entries[key]; ok {
		return e.delay
	}
	return 0
}

// Reset forgets key.
func (b *Backoff) Reset(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, key)
}

func (b *Backoff) expired(e *backoffEntry, eventTime time.Time) bool {
	return eventTime.Sub(e.lastUpdate) > 2*b.max
}

// BackoffState is one key's back-off, as persisted with a pod's status so
// that a restarted supervisor keeps a crash loop's delay.
type BackoffState struct {
	Delay      time.Duration `json:"delay"`
	LastUpdate time.Time     `json:"lastUpdate"`
}

// Export returns the entries whose keys start with prefix.
func (b *Backoff) Export(prefix string) map[string]BackoffState {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out map[string]BackoffState
	for k, e := range b.entries {
		if strings.HasPrefix(k, prefix) {
			if out == nil {
				out = map[string]BackoffState{}
			}
			out[k] = BackoffState{Delay: e.delay, LastUpdate: e.lastUpdate}
		}
	}
	return out
}

// Import adds entries (an Export of an earlier supervisor); existing keys
// are kept.
func (b *Backoff) Import(states map[string]BackoffState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, s := range states {
		if _, ok := b.entries[k]; !ok && s.Delay > 0 {
			b.entries[k] = &backoffEntry{delay: s.Delay, lastUpdate: s.LastUpdate}
		}
	}
}
