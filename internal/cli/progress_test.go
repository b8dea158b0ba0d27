package cli

import (
	"strings"
	"testing"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func feed(v *ProgressView) {
	v.Update(engine.Progress{Status: "Pulling from dltkit/app"})
	v.Update(engine.Progress{Layer: "aaaaaaaaaaaaaaaa", Status: "Pulling fs layer"})
	v.Update(engine.Progress{Layer: "bbbbbbbbbbbbbbbb", Status: "Pulling fs layer"})
	v.Update(engine.Progress{Layer: "aaaaaaaaaaaaaaaa", Status: "Downloading", Current: 512, Total: 1024})
	v.Update(engine.Progress{Layer: "aaaaaaaaaaaaaaaa", Status: "Downloading", Current: 1024, Total: 1024})
	v.Update(engine.Progress{Layer: "aaaaaaaaaaaaaaaa", Status: "Pull complete"})
	v.Update(engine.Progress{Layer: "bbbbbbbbbbbbbbbb", Status: "Already exists"})
	v.Update(engine.Progress{Status: "Status: Downloaded newer image"})
}

func TestProgressPlain(t *testing.T) {
	var b strings.Builder
	feed(NewProgressView(&b, false))
	want := strings.Join([]string{
		"Pulling from dltkit/app",
		"aaaaaaaaaaaa: Pulling fs layer",
		"bbbbbbbbbbbb: Pulling fs layer",
		"aaaaaaaaaaaa: Downloading", // once, not per byte count
		"aaaaaaaaaaaa: Pull complete",
		"bbbbbbbbbbbb: Already exists",
		"Status: Downloaded newer image",
	}, "\n") + "\n"
	if b.String() != want {
		t.Errorf("plain progress:\n%s\nwant:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Error("plain progress contains terminal escapes")
	}
}

func TestProgressTTY(t *testing.T) {
	var b strings.Builder
	v := NewProgressView(&b, true)
	v.Update(engine.Progress{Layer: "aaaaaaaaaaaaaaaa", Status: "Downloading", Current: 512, Total: 1024})
	first := b.String()
	if strings.Contains(first, "\x1b[1A") || !strings.Contains(first, "[===============>              ] 512B/1.024kB") {
		t.Errorf("first draw = %q", first)
	}
	b.Reset()
	v.Update(engine.Progress{Layer: "bbbbbbbbbbbbbbbb", Status: "Waiting"})
	// Redraw: back up over the one line drawn, then both layers.
	if got := b.String(); !strings.HasPrefix(got, "\x1b[1A") || !strings.Contains(got, "aaaaaaaaaaaa") || !strings.Contains(got, "bbbbbbbbbbbb: Waiting") {
		t.Errorf("redraw = %q", got)
	}
	b.Reset()
	v.Update(engine.Progress{Layer: "aaaaaaaaaaaaaaaa", Status: "Downloading", Current: 1024, Total: 1024})
	if got := b.String(); !strings.HasPrefix(got, "\x1b[2A") || !strings.Contains(got, "[==============================]") {
		t.Errorf("full bar redraw = %q", got)
	}
}

func TestLayerLineClamps(t *testing.T) {
	for _, p := range []engine.Progress{
		{Layer: "x", Status: "Downloading", Current: 5000, Total: 10},
		{Layer: "x", Status: "Downloading", Current: -5, Total: 10},
		{Layer: "x", Status: "Extracting", Current: 3, Total: 0},
	} {
		line := LayerLine(p) // must not panic on odd numbers
		if p.Total > 0 && !strings.Contains(line, "[") {
			t.Errorf("LayerLine(%+v) = %q, no bar", p, line)
		}
	}
}
