package playcli

import (
	"context"
	"fmt"
	"io"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// progressEngine reports every pull's progress to a tracker: the CRI's
// PullImage is one unary call, so this is where per-layer progress is seen.
type progressEngine struct {
	engine.Engine
	tracker *pod.PullTracker
}

func (e progressEngine) PullImage(ctx context.Context, ref string, opts engine.PullOptions) error {
	next := opts.Progress
	opts.Progress = func(p engine.Progress) {
		e.tracker.Observe(ref, p.Layer, p.Status, p.Current, p.Total)
		if next != nil {
			next(p)
		}
	}
	defer e.tracker.Done(ref)
	return e.Engine.PullImage(ctx, ref, opts)
}

// writePullBars draws one bar per layer of each pull in progress (the
// same bars as `dockerlet pull`).
func writePullBars(w io.Writer, pulls []pod.PullProgress) {
	for _, p := range pulls {
		fmt.Fprintf(w, "Pulling %s %s\n", p.Image, p.Status)
		for _, l := range p.Layers {
			fmt.Fprintf(w, "  %s\n", cli.LayerLine(engine.Progress{Image: p.Image, Layer: l.ID, Status: l.Status, Current: l.Current, Total: l.Total}))
		}
	}
}

// pullLines reports pulls as plain lines: one per layer status change.
type pullLines struct {
	w    io.Writer
	last map[string]string
}

func newPullLines(w io.Writer) *pullLines { return &pullLines{w: w, last: map[string]string{}} }

func (r *pullLines) report(pulls []pod.PullProgress) {
	for _, p := range pulls {
		for _, l := range p.Layers {
			k := p.Image + "/" + l.ID
			if r.last[k] != l.Status {
				r.last[k] = l.Status
				fmt.Fprintf(r.w, "pull %s: layer %s: %s\n", p.Image, cli.ShortLayer(l.ID), l.Status)
			}
		}
	}
}
