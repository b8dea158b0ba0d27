package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Events implements Engine: container events until ctx ends or the stream
// fails. The event channel is never closed; the error channel receives
// exactly one value (ctx's error, or the stream's), so select on both.
func (c *Client) Events(ctx context.Context, opts EventsOptions) (<-chan Event, <-chan error) {
	out := make(chan Event)
	errc := make(chan error, 1)
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType))
	if len(opts.Labels) > 0 {
		f.Add("label", opts.Labels...)
	}
	lo := client.EventsListOptions{Filters: f}
	if !opts.Since.IsZero() {
		lo.Since = fmt.Sprintf("%d.%09d", opts.Since.Unix(), opts.Since.Nanosecond())
	}
	res := c.api.Events(ctx, lo)
	go func() {
		for {
			select {
			case m := <-res.Messages:
				ev := toEvent(m)
				select {
				case out <- ev:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			case err, ok := <-res.Err:
				switch {
				case ctx.Err() != nil:
					err = ctx.Err()
				case !ok || errors.Is(err, io.EOF):
					err = classify("events", errors.New("event stream ended"))
				default:
					err = classify("events", err)
				}
				errc <- err
				return
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
	}()
	return out, errc
}

// toEvent maps a Docker message. Docker appends details to some actions
// ("exec_create: sh -c date", "health_status: healthy"); Action keeps the
// bare verb so that callers compare with ==, and the detail moves to the
// ActionDetail attribute.
func toEvent(m events.Message) Event {
	attrs := m.Actor.Attributes
	action, detail, ok := strings.Cut(string(m.Action), ": ")
	if ok {
		attrs = maps.Clone(attrs)
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs[ActionDetail] = detail
	}
	return Event{ContainerID: m.Actor.ID, Action: action, Attributes: attrs, Time: eventTime(m)}
}

func eventTime(m events.Message) time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano)
	}
	return time.Unix(m.Time, 0)
}
