package main

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/seed33933975/circuit"
)

// Chart geometry, in SVG user units.
const (
	svgWidth   = 960
	svgHeight  = 400
	plotLeft   = 80
	plotRight  = svgWidth - 20
	phaseTop   = 38
	phaseH     = 18
	bandTop    = 62
	bandH      = 28
	barsTop    = 110
	barsBottom = 320
	legendY    = 372
)

var stateColor = map[circuit.State]string{
	circuit.Closed:     "#2f9e44",
	circuit.HalfOpen:   "#f59f00",
	circuit.Open:       "#e03131",
	circuit.ForcedOpen: "#862e2e",
	circuit.Disabled:   "#868e96",
}

var phaseColor = map[phase]string{healthy: "#d3f9d8", down: "#ffe3e3", recovered: "#d0ebff"}

const (
	okColor       = "#69db7c"
	failedColor   = "#ff6b6b"
	rejectedColor = "#adb5bd"
)

// writeSVG draws the run. From top to bottom: the server's phases, a band
// that shows the breaker's state over time, and per-tick bars of ok, failed
// and rejected calls. Each transition is a dashed line whose tooltip gives
// its reason. The file is self-contained and opens in any browser.
func writeSVG(w io.Writer, r *result) error {
	bw := bufio.NewWriter(w)
	c := &canvas{w: bw, end: max(r.Duration, time.Millisecond)}
	c.draw(r)
	if c.err != nil {
		return c.err
	}
	return bw.Flush()
}

type canvas struct {
	w   *bufio.Writer
	end time.Duration // the time at the right edge
	err error
}

func (c *canvas) printf(format string, args ...any) {
	if c.err == nil {
		_, c.err = fmt.Fprintf(c.w, format, args...)
	}
}

// x maps a time into the run to its abscissa.
func (c *canvas) x(d time.Duration) float64 {
	f := min(max(float64(d)/float64(c.end), 0), 1)
	return plotLeft + f*(plotRight-plotLeft)
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (c *canvas) draw(r *result) {
	c.printf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, svgHeight, svgWidth, svgHeight)
	c.printf("<title>circuitdemo: a circuit breaker over %s</title>\n", esc(fmtDuration(r.Duration)))
	c.printf(`<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, svgHeight)
	cfg := r.Config
	c.printf(`<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", plotLeft,
		esc(fmt.Sprintf("circuitdemo: %g calls/s through circuithttp, %d ok, %d failed, %d rejected, latency saved ≈ %s",
			cfg.Rate, r.OK.N, r.Failed.N, r.Rejected.N, fmtDuration(r.Saved()))))

	c.phases(r)
	c.band(r)
	c.bars(r)
	c.axis()
	c.markers(r)
	c.legend()
	c.printf("</svg>\n")
}

// rowLabel writes a label left of the plot, centered on the row at y.
func (c *canvas) rowLabel(y float64, label string) {
	c.printf(`<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#495057">%s</text>`+"\n",
		plotLeft-8, y, esc(label))
}

func (c *canvas) phases(r *result) {
	cfg := r.Config
	c.rowLabel(phaseTop+phaseH/2, "server")
	from := time.Duration(0)
	for p, length := range []time.Duration{cfg.Healthy, cfg.Down, cfg.Recovered} {
		to := from + length
		if p == int(recovered) {
			to = max(to, c.end)
		}
		if length > 0 {
			c.rect("phase phase-"+phase(p).String(), c.x(from), phaseTop, c.x(to)-c.x(from), phaseH, phaseColor[phase(p)],
				fmt.Sprintf("%s: %s to %s", phase(p), fmtDuration(from), fmtDuration(min(to, c.end))))
			c.label((c.x(from)+c.x(to))/2, phaseTop+phaseH/2, phase(p).String(), "#343a40", c.x(to)-c.x(from))
		}
		from = to
	}
}

// band draws the breaker's state over time, a segment per state held.
func (c *canvas) band(r *result) {
	c.rowLabel(bandTop+bandH/2, "breaker")
	state, from := circuit.Closed, time.Duration(0)
	segment := func(to time.Duration) {
		to = min(to, c.end)
		if to <= from {
			return
		}
		x0, x1 := c.x(from), c.x(to)
		c.rect("state state-"+state.String(), x0, bandTop, x1-x0, bandH, stateColor[state],
			fmt.Sprintf("%s from %s to %s", state, fmtDuration(from), fmtDuration(to)))
		c.label((x0+x1)/2, bandTop+bandH/2, state.String(), "#ffffff", x1-x0)
	}
	for _, e := range r.Transitions {
		segment(e.At)
		state, from = e.To, max(from, min(e.At, c.end))
	}
	segment(c.end)
}

// bars draws a stacked bar per tick: ok at the bottom, failed, then rejected.
func (c *canvas) bars(r *result) {
	most := 1
	for _, t := range r.Ticks {
		most = max(most, t.OK+t.Failed+t.Rejected)
	}
	scale := float64(barsBottom-barsTop) / float64(most)
	c.rowLabel((barsTop+barsBottom)/2, "calls / tick")
	c.printf(`<text x="%d" y="%d" text-anchor="end" fill="#868e96">%d</text>`+"\n", plotLeft-8, barsTop+4, most)
	c.printf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e9ecef"/>`+"\n", plotLeft, barsTop, plotRight, barsTop)
	prev := time.Duration(0)
	for _, t := range r.Ticks {
		x0, x1 := c.x(prev), c.x(t.At)
		width := max(x1-x0-1, 0.5)
		y := float64(barsBottom)
		for _, part := range []struct {
			class, color string
			n            int
		}{{"ok", okColor, t.OK}, {"failed", failedColor, t.Failed}, {"rejected", rejectedColor, t.Rejected}} {
			if part.n == 0 {
				continue
			}
			h := float64(part.n) * scale
			y -= h
			c.rect("calls calls-"+part.class, x0, y, width, h, part.color,
				fmt.Sprintf("%s to %s: %d %s (breaker %s)", fmtDuration(prev), fmtDuration(t.At), part.n, part.class, t.State))
		}
		prev = t.At
	}
}

// axis draws the time axis with a label every "round" step.
func (c *canvas) axis() {
	c.printf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#495057"/>`+"\n", plotLeft, barsBottom, plotRight, barsBottom)
	step := axisStep(c.end)
	for t := time.Duration(0); t <= c.end; t += step {
		x := c.x(t)
		c.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#495057"/>`+"\n", x, barsBottom, x, barsBottom+4)
		c.printf(`<text x="%.1f" y="%d" text-anchor="middle" fill="#495057">%s</text>`+"\n", x, barsBottom+17, esc(axisLabel(t, step)))
	}
	c.printf(`<text x="%d" y="%d" text-anchor="end" fill="#495057">time into the run</text>`+"\n", plotRight, barsBottom+34)
}

// axisStep picks a 1-2-5 step that gives at most a dozen labels.
func axisStep(end time.Duration) time.Duration {
	for step := time.Millisecond; ; step *= 10 {
		for _, m := range []time.Duration{1, 2, 5} {
			if end/(m*step) <= 12 {
				return m * step
			}
		}
	}
}

func axisLabel(t, step time.Duration) string {
	if step < time.Second {
		return fmt.Sprintf("%gms", float64(t)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%gs", math.Round(t.Seconds()*10)/10)
}

// markers draws a dashed line at each transition, its reason as a tooltip.
func (c *canvas) markers(r *result) {
	for _, e := range r.Transitions {
		x := c.x(e.At)
		c.printf(`<line class="transition" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#212529" stroke-dasharray="3,3" stroke-width="1"><title>%s</title></line>`+"\n",
			x, bandTop, x, barsBottom, esc(fmt.Sprintf("%s: %s → %s: %s", fmtDuration(e.At), e.From, e.To, e.Reason)))
	}
}

func (c *canvas) legend() {
	x := float64(plotLeft)
	item := func(label, color string) {
		c.printf(`<rect x="%.1f" y="%d" width="12" height="12" fill="%s"/>`+"\n", x, legendY-10, color)
		c.printf(`<text class="legend" x="%.1f" y="%d">%s</text>`+"\n", x+17, legendY, esc(label))
		x += 17 + 7.5*float64(len(label)) + 18
	}
	c.printf(`<text x="%.1f" y="%d" fill="#495057">breaker:</text>`+"\n", x, legendY)
	x += 60
	for _, s := range []circuit.State{circuit.Closed, circuit.HalfOpen, circuit.Open} {
		item(s.String(), stateColor[s])
	}
	x += 20
	c.printf(`<text x="%.1f" y="%d" fill="#495057">calls:</text>`+"\n", x, legendY)
	x += 45
	item("ok", okColor)
	item("failed", failedColor)
	item("rejected (not sent)", rejectedColor)
}

func (c *canvas) rect(class string, x, y, w, h float64, fill, title string) {
	c.printf(`<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
		esc(class), x, y, w, h, fill, esc(title))
}

// label writes text centered at (x, y) if it fits in width.
func (c *canvas) label(x, y float64, text, color string, width float64) {
	if 7*float64(len(text))+6 > width {
		return
	}
	c.printf(`<text x="%.1f" y="%.1f" text-anchor="middle" dominant-baseline="middle" fill="%s">%s</text>`+"\n",
		x, y, color, esc(text))
}
