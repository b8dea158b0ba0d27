package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/docker/go-units"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// ProgressView renders pull progress: on a terminal, one bar per layer
// redrawn in place; otherwise a plain line whenever a layer's status
// changes (not on every byte), which reads well in CI logs.
type ProgressView struct {
	out io.Writer
	tty bool

	mu     sync.Mutex
	order  []string // layer ids in order of appearance
	layers map[string]engine.Progress
	status string // the latest image-wide status line
	drawn  int    // lines drawn last time (tty)
}

func NewProgressView(out io.Writer, tty bool) *ProgressView {
	return &ProgressView{out: out, tty: tty, layers: map[string]engine.Progress{}}
}

// Update takes one engine progress report. Safe for concurrent use.
func (v *ProgressView) Update(p engine.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if p.Layer == "" {
		v.status = p.Status
		if !v.tty {
			fmt.Fprintln(v.out, p.Status)
			return
		}
		v.redraw()
		return
	}
	prev, seen := v.layers[p.Layer]
	if !seen {
		v.order = append(v.order, p.Layer)
	}
	v.layers[p.Layer] = p
	if !v.tty {
		if !seen || prev.Status != p.Status {
			fmt.Fprintf(v.out, "%s: %s\n", ShortLayer(p.Layer), p.Status)
		}
		return
	}
	v.redraw()
}

// redraw moves the cursor back over the previous drawing and paints the
// layers and the status line again.
func (v *ProgressView) redraw() {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	lines := 0
	for _, id := range v.order {
		fmt.Fprintf(&b, "\x1b[2K%s\n", LayerLine(v.layers[id]))
		lines++
	}
	if v.status != "" {
		fmt.Fprintf(&b, "\x1b[2K%s\n", v.status)
		lines++
	}
	v.drawn = lines
	_, _ = io.WriteString(v.out, b.String()) // a terminal that went away misses the bars
}

const barWidth = 30

// LayerLine is "<id>: <status> [=====>    ] 1.2MB/4.5MB".
func LayerLine(p engine.Progress) string {
	line := fmt.Sprintf("%s: %-16s", ShortLayer(p.Layer), p.Status)
	if p.Total <= 0 {
		return line
	}
	cur := min(max(p.Current, 0), p.Total)
	filled := int(int64(barWidth) * cur / p.Total)
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-filled-1)
	}
	return fmt.Sprintf("%s [%s] %s/%s", line, bar, units.HumanSize(float64(cur)), units.HumanSize(float64(p.Total)))
}

func ShortLayer(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
