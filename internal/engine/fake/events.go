package fake

import (
	"context"
	"maps"
	"sync"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// maxEventHistory bounds the events kept for Since replays.
const maxEventHistory = 10000

// subscriber is one Events stream. Emitting never blocks the fake: events
// queue here and a pump goroutine hands them to the consumer.
type subscriber struct {
	labels []string
	mu     sync.Mutex
	queue  []engine.Event
	wake   chan struct{}
}

func (s *subscriber) push(e engine.Event) {
	s.mu.Lock()
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// emitLocked records a container event and fans it out. Attributes carry
// the container's labels, name and image, as Docker's do.
func (f *Fake) emitLocked(c *ctr, action string, extra map[string]string) {
	attrs := maps.Clone(c.spec.Config.Labels)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["name"] = c.name
	attrs["image"] = c.spec.Config.Image
	maps.Copy(attrs, extra)
	e := engine.Event{ContainerID: c.id, Action: action, Attributes: attrs, Time: f.Now()}
	f.events = append(f.events, e)
	if len(f.events) > maxEventHistory {
		f.events = f.events[len(f.events)-maxEventHistory:]
	}
	for s := range f.subs {
		if matchLabels(attrs, s.labels) {
			s.push(cloneEvent(e))
		}
	}
}

func cloneEvent(e engine.Event) engine.Event {
	e.Attributes = maps.Clone(e.Attributes)
	return e
}

// Events implements engine.Engine: container events (create, start, oom,
// die, destroy) until ctx ends, replaying recorded ones from opts.Since.
// The event channel is never closed; the error channel then receives
// ctx's error.
func (f *Fake) Events(ctx context.Context, opts engine.EventsOptions) (<-chan engine.Event, <-chan error) {
	out := make(chan engine.Event)
	errc := make(chan error, 1)
	if err := f.enter(ctx, "Events"); err != nil {
		errc <- err
		return out, errc
	}
	s := &subscriber{labels: append([]string(nil), opts.Labels...), wake: make(chan struct{}, 1)}
	f.mu.Lock()
	if !opts.Since.IsZero() {
		for _, e := range f.events {
			if !e.Time.Before(opts.Since) && matchLabels(e.Attributes, s.labels) {
				s.queue = append(s.queue, cloneEvent(e))
			}
		}
	}
	f.subs[s] = struct{}{}
	f.mu.Unlock()

	go func() {
		defer func() {
			f.mu.Lock()
			delete(f.subs, s)
			f.mu.Unlock()
			errc <- ctx.Err()
		}()
		for {
			s.mu.Lock()
			batch := s.queue
			s.queue = nil
			s.mu.Unlock()
			for _, e := range batch {
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
			if len(batch) > 0 {
				continue
			}
			select {
			case <-s.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errc
}

// Subscribers returns the number of open Events streams (a test helper for
// leak checks).
func (f *Fake) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}
