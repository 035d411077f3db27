// Package chart draws the benchmark plots: line charts with linear or
// logarithmic axes, several panels side by side, as a PNG. It uses only
// the standard library and golang.org/x/image (already a dependency through
// fyne), so the benchmarks pull in no plotting library.
package chart

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Point is one measurement.
type Point struct{ X, Y float64 }

// Series is one curve.
type Series struct {
	Label  string
	Points []Point
	Dashed bool
}

// Panel is one chart.
type Panel struct {
	Title          string
	XLabel, YLabel string
	LogX, LogY     bool
	// XFormat and YFormat write tick labels; nil writes the number.
	XFormat, YFormat func(float64) string
	// XTicks, when set, are the values marked on the x axis; else they are
	// chosen from the range.
	XTicks []float64
	Series []Series
	// Note is a line under the chart, e.g. why a curve is missing.
	Note string
}

// Colors of the series, in order; the first is Vivarium's.
var palette = []color.RGBA{
	{0x1f, 0x6f, 0xd0, 0xff}, // blue
	{0xd9, 0x48, 0x1c, 0xff}, // orange
	{0x2a, 0x9d, 0x4a, 0xff}, // green
	{0x8e, 0x44, 0xad, 0xff}, // purple
	{0x7f, 0x7f, 0x7f, 0xff}, // grey
}

// ErrNoData is returned for a panel without a single point.
var ErrNoData = errors.New("chart: no data")

type faces struct{ title, text font.Face }

func newFaces() (faces, error) {
	reg, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return faces{}, err
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return faces{}, err
	}
	text, err := opentype.NewFace(reg, &opentype.FaceOptions{Size: 12, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return faces{}, err
	}
	title, err := opentype.NewFace(bold, &opentype.FaceOptions{Size: 14, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return faces{}, err
	}
	return faces{title: title, text: text}, nil
}

// Render draws panels side by side, each panelW x height pixels, and
// writes the PNG to w.
func Render(w io.Writer, panelW, height int, panels []Panel) error {
	if len(panels) == 0 {
		return ErrNoData
	}
	f, err := newFaces()
	if err != nil {
		return fmt.Errorf("chart fonts: %w", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, panelW*len(panels), height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for i, p := range panels {
		c := &canvas{img: img, faces: f, box: image.Rect(i*panelW, 0, (i+1)*panelW, height)}
		if err := c.panel(p); err != nil {
			return fmt.Errorf("chart %q: %w", p.Title, err)
		}
	}
	return png.Encode(w, img)
}

type canvas struct {
	img   *image.RGBA
	faces faces
	box   image.Rectangle
}

// axis maps data values to pixels along one direction.
type axis struct {
	log        bool
	lo, hi     float64 // data range, in log10 when log
	pixLo, pix float64 // pixel of lo, and length (negative upwards)
	format     func(float64) string
}

func (a axis) value(v float64) float64 {
	if a.log {
		return math.Log10(v)
	}
	return v
}

func (a axis) pixel(v float64) float64 {
	return a.pixLo + (a.value(v)-a.lo)/(a.hi-a.lo)*a.pix
}

// ticks returns the values to mark: decades (with 2 and 5 when the range is
// short) on a log axis, round steps on a linear one.
func (a axis) ticks() []float64 {
	var out []float64
	if a.log {
		mults := []float64{1}
		if a.hi-a.lo < 2.5 {
			mults = []float64{1, 2, 5}
		}
		for e := math.Floor(a.lo); e <= math.Ceil(a.hi); e++ {
			for _, m := range mults {
				v := m * math.Pow(10, e)
				if lv := math.Log10(v); lv >= a.lo-1e-9 && lv <= a.hi+1e-9 {
					out = append(out, v)
				}
			}
		}
		return out
	}
	step := niceStep((a.hi - a.lo) / 5)
	for v := math.Ceil(a.lo/step) * step; v <= a.hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// dataRange returns the range of the values along one direction, padded a
// little, in axis units (log10 for log axes).
func dataRange(panel Panel, pick func(Point) float64, log bool) (lo, hi float64, err error) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range panel.Series {
		for _, p := range s.Points {
			v := pick(p)
			if log {
				if v <= 0 {
					continue
				}
				v = math.Log10(v)
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 0) {
		return 0, 0, ErrNoData
	}
	if !log && lo > 0 {
		lo = 0 // linear axes start at zero, so heights compare
	}
	if hi-lo < 1e-9 {
		if log {
			lo, hi = lo-0.5, hi+0.5
		} else {
			hi = lo + math.Max(1, math.Abs(lo))
		}
	}
	pad := (hi - lo) * 0.06
	if log {
		return lo - pad, hi + pad, nil
	}
	return lo, hi + pad, nil
}

func (c *canvas) panel(p Panel) error {
	b := c.box
	plot := image.Rect(b.Min.X+78, b.Min.Y+52, b.Max.X-24, b.Max.Y-78)
	c.text(c.faces.title, p.Title, b.Min.X+(b.Dx()-c.width(c.faces.title, p.Title))/2, b.Min.Y+24, color.Black)
	xlo, xhi, err := dataRange(p, func(pt Point) float64 { return pt.X }, p.LogX)
	if err != nil {
		return err
	}
	ylo, yhi, err := dataRange(p, func(pt Point) float64 { return pt.Y }, p.LogY)
	if err != nil {
		return err
	}
	x := axis{log: p.LogX, lo: xlo, hi: xhi, pixLo: float64(plot.Min.X), pix: float64(plot.Dx()), format: p.XFormat}
	y := axis{log: p.LogY, lo: ylo, hi: yhi, pixLo: float64(plot.Max.Y), pix: -float64(plot.Dy()), format: p.YFormat}

	grid := color.RGBA{0xe4, 0xe4, 0xe4, 0xff}
	for _, v := range y.ticks() {
		py := int(math.Round(y.pixel(v)))
		c.hline(plot.Min.X, plot.Max.X, py, grid)
		label := formatTick(y.format, v)
		c.text(c.faces.text, label, plot.Min.X-8-c.width(c.faces.text, label), py+4, color.Black)
	}
	xticks := p.XTicks
	if len(xticks) == 0 {
		xticks = x.ticks()
	}
	for _, v := range xticks {
		px := int(math.Round(x.pixel(v)))
		c.vline(px, plot.Min.Y, plot.Max.Y, grid)
		label := formatTick(x.format, v)
		c.text(c.faces.text, label, px-c.width(c.faces.text, label)/2, plot.Max.Y+16, color.Black)
	}
	c.hline(plot.Min.X, plot.Max.X, plot.Max.Y, color.Black)
	c.vline(plot.Min.X, plot.Min.Y, plot.Max.Y, color.Black)
	c.text(c.faces.text, p.XLabel, plot.Min.X+(plot.Dx()-c.width(c.faces.text, p.XLabel))/2, plot.Max.Y+34, color.Black)
	c.text(c.faces.text, p.YLabel, b.Min.X+8, plot.Min.Y-10, color.Black)

	legendY := plot.Max.Y + 52
	legendX := plot.Min.X
	for i, s := range p.Series {
		col := palette[i%len(palette)]
		var prev *Point
		for j := range s.Points {
			pt := s.Points[j]
			if (p.LogX && pt.X <= 0) || (p.LogY && pt.Y <= 0) {
				continue
			}
			if prev != nil {
				c.line(x.pixel(prev.X), y.pixel(prev.Y), x.pixel(pt.X), y.pixel(pt.Y), col, s.Dashed)
			}
			c.dot(x.pixel(pt.X), y.pixel(pt.Y), col)
			prev = &s.Points[j]
		}
		if legendX+c.width(c.faces.text, s.Label)+30 > b.Max.X {
			legendX, legendY = plot.Min.X, legendY+16
		}
		c.line(float64(legendX), float64(legendY-4), float64(legendX+18), float64(legendY-4), col, s.Dashed)
		c.text(c.faces.text, s.Label, legendX+22, legendY, color.Black)
		legendX += 22 + c.width(c.faces.text, s.Label) + 16
	}
	if p.Note != "" {
		c.text(c.faces.text, p.Note, plot.Min.X, legendY+18, color.RGBA{0x80, 0x30, 0x30, 0xff})
	}
	return nil
}

func formatTick(f func(float64) string, v float64) string {
	if f != nil {
		return f(v)
	}
	return fmt.Sprintf("%g", v)
}

func (c *canvas) width(face font.Face, s string) int {
	return font.MeasureString(face, s).Ceil()
}

func (c *canvas) text(face font.Face, s string, x, y int, col color.Color) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func (c *canvas) hline(x0, x1, y int, col color.Color) {
	for x := x0; x <= x1; x++ {
		c.img.Set(x, y, col)
	}
}

func (c *canvas) vline(x, y0, y1 int, col color.Color) {
	for y := y0; y <= y1; y++ {
		c.img.Set(x, y, col)
	}
}

// line draws a 2-pixel line, in 6-pixel dashes when dashed.
func (c *canvas) line(x0, y0, x1, y1 float64, col color.RGBA, dashed bool) {
	length := math.Hypot(x1-x0, y1-y0)
	steps := int(math.Ceil(length * 2))
	for i := 0; i <= steps; i++ {
		t := 0.0
		if steps > 0 {
			t = float64(i) / float64(steps)
		}
		if dashed && int(t*length/6)%2 == 1 {
			continue
		}
		c.disc(x0+(x1-x0)*t, y0+(y1-y0)*t, 1.2, col)
	}
}

func (c *canvas) dot(x, y float64, col color.RGBA) { c.disc(x, y, 3.5, col) }

func (c *canvas) disc(cx, cy, r float64, col color.RGBA) {
	for y := int(cy - r - 1); y <= int(cy+r+1); y++ {
		for x := int(cx - r - 1); x <= int(cx+r+1); x++ {
			if math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy) <= r {
				c.img.SetRGBA(x, y, col)
			}
		}
	}
}
