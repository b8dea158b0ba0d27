package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/dockerlet/dockerlet/test/bench/result"
)

var (
	colSelf  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // dockerlet
	colPeer  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // the peer
	colFloor = color.RGBA{R: 0x70, G: 0x70, B: 0x70, A: 0xff} // Docker's own API
)

// series is one line: a figure against pods.
type series struct {
	name   string
	col    color.Color
	dashed bool
	shape  draw.GlyphDrawer
	pts    plotter.XYs
}

func curve(name string, col color.Color, dashed bool, shape draw.GlyphDrawer, r *result.Result, at func(*result.Result, int) float64) series {
	s := series{name: name, col: col, dashed: dashed, shape: shape}
	for _, n := range counts(r) {
		if v := at(r, n); !math.IsNaN(v) && v > 0 {
			s.pts = append(s.pts, plotter.XY{X: float64(n), Y: v})
		}
	}
	return s
}

// linePlot draws series against pods; log scales the y axis.
func linePlot(path, title, ylabel string, log bool, ss []series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "running pods"
	p.Y.Label.Text = ylabel
	if log {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Y.Min = 0
	}
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	p.Add(plotter.NewGrid())
	drawn := 0
	for _, s := range ss {
		if len(s.pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(s.pts)
		if err != nil {
			return err
		}
		l.Color, sc.Color = s.col, s.col
		l.Width = vg.Points(1.5)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		sc.Shape = s.shape
		sc.Radius = vg.Points(3)
		p.Add(l, sc)
		leg.Add(s.name, l, sc)
		drawn++
	}
	if drawn == 0 {
		return nil
	}
	if log {
		// Set the range: gonum widens a flat one (one point, or equal
		// values) by ±1, which goes below zero on a log axis.
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range ss {
			for _, pt := range s.pts {
				lo, hi = math.Min(lo, pt.Y), math.Max(hi, pt.Y)
			}
		}
		p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
	}
	return save(p, &leg, path)
}

// barPlot draws groups of bars (one bar per runtime in each group).
func barPlot(path, title, ylabel string, groups []string, bars []barSeries) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	w := vg.Points(18)
	var shown []barSeries
	for _, b := range bars {
		ok := false
		for _, v := range b.vals {
			ok = ok || !math.IsNaN(v)
		}
		if ok {
			shown = append(shown, b)
		}
	}
	if len(shown) == 0 {
		return nil
	}
	for i, b := range shown {
		vals := make(plotter.Values, len(b.vals))
		for j, v := range b.vals {
			if !math.IsNaN(v) {
				vals[j] = v
			}
		}
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bc.Color = b.col
		bc.LineStyle.Width = 0
		bc.Offset = w * vg.Length(float64(i)-float64(len(shown)-1)/2)
		p.Add(bc)
		leg.Add(b.name, bc)
	}
	p.NominalX(groups...)
	p.Y.Min = 0
	p.Y.Max *= 1.08 // the tallest bar below the title
	return save(p, &leg, path)
}

type barSeries struct {
	name string
	col  color.Color
	vals []float64
}

// alsoPNG makes save write a PNG beside each SVG (-png).
var alsoPNG bool

// Plot size; the legend goes in a column right of the plot, where it
// hides no data.
const (
	plotW   = 8 * vg.Inch
	plotH   = 3.6 * vg.Inch
	legendW = 2.6 * vg.Inch
)

// draw renders the plot and its legend onto c.
func drawTo(c vg.CanvasSizer, p *plot.Plot, leg *plot.Legend) {
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
	leg.Draw(draw.Crop(dc, plotW-legendW+vg.Points(8), 0, 0, -vg.Points(24)))
}

func save(p *plot.Plot, leg *plot.Legend, path string) error {
	if alsoPNG {
		img := vgimg.New(plotW, plotH)
		drawTo(img, p, leg)
		f, err := os.Create(strings.TrimSuffix(path, ".svg") + ".png")
		if err != nil {
			return err
		}
		if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	c := vgsvg.NewWith(vgsvg.UseWH(plotW, plotH), vgsvg.EmbedFonts(false))
	drawTo(c, p, leg)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// plotMode writes a mode's plots into dir and returns their file names.
func plotMode(dir string, m *mode) ([]string, error) {
	s, p := m.self, m.peer
	peerName := ""
	if p != nil {
		peerName = p.Runtime
	}
	call := func(c string) func(*result.Result, int) float64 {
		return func(r *result.Result, n int) float64 { return callP50(r, n, c) }
	}
	both := func(label string, shape draw.GlyphDrawer, dashed bool, at func(*result.Result, int) float64) []series {
		out := []series{curve("dockerlet "+label, colSelf, dashed, shape, s, at)}
		if p != nil {
			out = append(out, curve(peerName+" "+label, colPeer, dashed, shape, p, at))
		}
		return out
	}
	var files []string
	add := func(name string, err error) error {
		if err == nil {
			if _, serr := os.Stat(filepath.Join(dir, name)); serr == nil {
				files = append(files, name)
			}
		}
		return err
	}
	name := m.name + "-relist.svg"
	ss := append(both("ListPodSandbox", draw.CircleGlyph{}, false, call("ListPodSandbox")),
		both("ListContainers", draw.TriangleGlyph{}, true, call("ListContainers"))...)
	ss = append(ss, curve("Docker API: list (floor)", colFloor, true, draw.SquareGlyph{}, s, call("docker:ListContainers")))
	if err := add(name, linePlot(filepath.Join(dir, name), fmt.Sprintf("Relist latency (%s mode)", m.name), "p50 (ms, log)", true, ss)); err != nil {
		return nil, err
	}
	name = m.name + "-status.svg"
	ss = append(both("PodSandboxStatus", draw.CircleGlyph{}, false, call("PodSandboxStatus")),
		both("ContainerStatus", draw.TriangleGlyph{}, true, call("ContainerStatus"))...)
	ss = append(ss, curve("Docker API: inspect (floor)", colFloor, true, draw.SquareGlyph{}, s, call("docker:InspectContainer")))
	if err := add(name, linePlot(filepath.Join(dir, name), fmt.Sprintf("Status latency (%s mode)", m.name), "p50 (ms, log)", true, ss)); err != nil {
		return nil, err
	}
	name = m.name + "-stats.svg"
	ss = append(both("ListContainerStats", draw.CircleGlyph{}, false, call("ListContainerStats")),
		both("ContainerStats", draw.TriangleGlyph{}, true, call("ContainerStats"))...)
	if err := add(name, linePlot(filepath.Join(dir, name), fmt.Sprintf("Stats latency (%s mode)", m.name), "p50 (ms, log)", true, ss)); err != nil {
		return nil, err
	}
	name = m.name + "-rss.svg"
	if err := add(name, linePlot(filepath.Join(dir, name), fmt.Sprintf("Runtime RSS, max over idle and polled windows (%s mode)", m.name), "MiB", false,
		both("RSS", draw.CircleGlyph{}, false, rssMax))); err != nil {
		return nil, err
	}
	name = m.name + "-cpu.svg"
	ss = append(both("polled like a kubelet", draw.CircleGlyph{}, false, func(r *result.Result, n int) float64 { return cpuPct(r, n, r.Runtime, true) }),
		both("idle", draw.TriangleGlyph{}, true, func(r *result.Result, n int) float64 { return cpuPct(r, n, r.Runtime, false) })...)
	if err := add(name, linePlot(filepath.Join(dir, name), fmt.Sprintf("Runtime CPU (%s mode)", m.name), "% of one core (log)", true, ss)); err != nil {
		return nil, err
	}

	// Pod lifecycle at up to 110 pods: wall time and CPU per pod.
	const n = 110
	wall := []barSeries{
		{"Docker API (floor)", colFloor, []float64{median(m.floor), nan}},
		{"dockerlet", colSelf, []float64{segP50(segments(s, n, false), "PodStartup(total)"), segP50(segments(s, n, true), "Teardown(total)")}},
	}
	cpu := []barSeries{
		{"dockerlet", colSelf, []float64{segCPU(segments(s, n, false), s.Runtime, false), segCPU(segments(s, n, true), s.Runtime, false)}},
	}
	bursts := []barSeries{
		{"Docker API (floor)", colFloor, []float64{median(m.floorBursts)}},
		{"dockerlet", colSelf, []float64{median(m.selfBursts)}},
	}
	if p != nil {
		wall = append(wall, barSeries{peerName, colPeer, []float64{segP50(segments(p, n, false), "PodStartup(total)"), segP50(segments(p, n, true), "Teardown(total)")}})
		cpu = append(cpu, barSeries{peerName, colPeer, []float64{segCPU(segments(p, n, false), p.Runtime, false), segCPU(segments(p, n, true), p.Runtime, false)}})
		bursts = append(bursts, barSeries{peerName, colPeer, []float64{median(m.peerBursts)}})
	}
	name = m.name + "-lifecycle.svg"
	if err := add(name, barPlot(filepath.Join(dir, name), fmt.Sprintf("One pod at a time, up to %d pods (%s mode)", n, m.name), "p50 per pod (ms)",
		[]string{"start-up", "teardown"}, wall)); err != nil {
		return nil, err
	}
	if len(m.selfBursts) > 0 {
		name = m.name + "-burst.svg"
		if err := add(name, barPlot(filepath.Join(dir, name), fmt.Sprintf("%d pods at once, %d at a time (%s mode)", m.burstPods, m.burstParallel, m.name), "until all Running (ms, median)",
			[]string{fmt.Sprintf("burst of %d", m.burstPods)}, bursts)); err != nil {
			return nil, err
		}
	}
	name = m.name + "-pod-cpu.svg"
	if err := add(name, barPlot(filepath.Join(dir, name), fmt.Sprintf("Runtime CPU per pod, with the plugins it runs (%s mode)", m.name), "CPU ms per pod",
		[]string{"start-up", "teardown"}, cpu)); err != nil {
		return nil, err
	}
	return files, nil
}
