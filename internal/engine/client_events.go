package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
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
				ev := Event{ContainerID: m.Actor.ID, Action: string(m.Action), Attributes: m.Actor.Attributes, Time: eventTime(m)}
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

func eventTime(m events.Message) time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano)
	}
	return time.Unix(m.Time, 0)
}
