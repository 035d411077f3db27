package assets

import (
	"image"
	"math"
)

// The icons are drawn as signed distance fields: every shape is a function
// from a point in the unit square (y down) to its signed distance from the
// shape's edge, negative inside. A pixel's coverage is read off that distance
// in pixel units, so the same drawing is crisp at 16 px and at 1024 px without
// supersampling.

type vec struct{ x, y float64 }

func (a vec) add(b vec) vec       { return vec{a.x + b.x, a.y + b.y} }
func (a vec) sub(b vec) vec       { return vec{a.x - b.x, a.y - b.y} }
func (a vec) scale(s float64) vec { return vec{a.x * s, a.y * s} }
func (a vec) dot(b vec) float64   { return a.x*b.x + a.y*b.y }
func (a vec) length() float64     { return math.Hypot(a.x, a.y) }
func (a vec) abs() vec            { return vec{math.Abs(a.x), math.Abs(a.y)} }

// rotate turns a vector by rad: clockwise on screen, as y points down.
func (a vec) rotate(rad float64) vec {
	s, c := math.Sincos(rad)
	return vec{c*a.x - s*a.y, s*a.x + c*a.y}
}

// shape is a signed distance field in unit-square coordinates.
type shape func(p vec) float64

// paint gives the straight (non-premultiplied) colour of a fill at a point.
type paint func(p vec) rgba

type rgba struct{ r, g, b, a float64 }

func rgb(r, g, b uint8) rgba {
	return rgba{float64(r) / 255, float64(g) / 255, float64(b) / 255, 1}
}

func (c rgba) withAlpha(a float64) rgba { c.a = a; return c }

func mix(a, b rgba, t float64) rgba {
	t = clamp01(t)
	return rgba{
		a.r + (b.r-a.r)*t,
		a.g + (b.g-a.g)*t,
		a.b + (b.b-a.b)*t,
		a.a + (b.a-a.a)*t,
	}
}

func solid(c rgba) paint { return func(vec) rgba { return c } }

// linear is a gradient from c0 at point a to c1 at point b.
func linear(a, b vec, c0, c1 rgba) paint {
	d := b.sub(a)
	l2 := d.dot(d)
	return func(p vec) rgba { return mix(c0, c1, p.sub(a).dot(d)/l2) }
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

func smoothstep(e0, e1, x float64) float64 {
	t := clamp01((x - e0) / (e1 - e0))
	return t * t * (3 - 2*t)
}

// canvas accumulates premultiplied colour.
type canvas struct {
	size int
	pix  []rgba
}

func newCanvas(size int) *canvas {
	return &canvas{size: size, pix: make([]rgba, size*size)}
}

// over composites colour col with extra coverage cov onto pixel i.
func (c *canvas) over(i int, col rgba, cov float64) {
	a := col.a * cov
	if a <= 0 {
		return
	}
	d := &c.pix[i]
	d.r = col.r*a + d.r*(1-a)
	d.g = col.g*a + d.g*(1-a)
	d.b = col.b*a + d.b*(1-a)
	d.a = a + d.a*(1-a)
}

// fill draws a shape with an anti-aliased edge one pixel wide.
func (c *canvas) fill(s shape, p paint) {
	halfPixel := 0.5 / float64(c.size)
	c.cover(s, halfPixel, halfPixel, func(d float64) float64 { return 0.5 - d*float64(c.size) }, p)
}

// shadow draws a soft shadow of a shape: blur is its half-width in unit
// coordinates, never narrower than a pixel so small icons stay clean.
func (c *canvas) shadow(s shape, offset vec, blur float64, col rgba) {
	blur = math.Max(blur, 1/float64(c.size))
	moved := func(p vec) float64 { return s(p.sub(offset)) }
	c.cover(moved, blur, blur, func(d float64) float64 { return 1 - smoothstep(-blur, blur, d) }, solid(col))
}

// tile is the side, in pixels, of the squares cover tests as a whole.
const tile = 16

// cover composites paint p over every pixel, weighted by coverage(d) where
// d is the shape's distance at the pixel's centre. coverage must be 0 for
// d >= outside and 1 for d <= -inside. Tiles that are wholly outside are
// skipped and wholly inside ones filled without evaluating the shape at
// every pixel: a distance field says how far the edge is at least, give or
// take the slack some of ours (warped or approximate fields) have.
func (c *canvas) cover(s shape, outside, inside float64, coverage func(d float64) float64, p paint) {
	const slack = 1.5
	unit := 1 / float64(c.size)
	reach := slack * math.Sqrt2 / 2 * tile * unit
	for ty := 0; ty < c.size; ty += tile {
		for tx := 0; tx < c.size; tx += tile {
			x1, y1 := min(tx+tile, c.size), min(ty+tile, c.size)
			d := s(vec{float64(tx+x1) / 2 * unit, float64(ty+y1) / 2 * unit})
			if d-reach >= outside {
				continue
			}
			whole := d+reach <= -inside
			for y := ty; y < y1; y++ {
				for x := tx; x < x1; x++ {
					pt := vec{(float64(x) + 0.5) * unit, (float64(y) + 0.5) * unit}
					cov := 1.0
					if !whole {
						cov = clamp01(coverage(s(pt)))
					}
					if cov > 0 {
						c.over(y*c.size+x, p(pt), cov)
					}
				}
			}
		}
	}
}

// clip restricts a shape to the inside of another.
func clip(s, to shape) shape {
	return func(p vec) float64 { return math.Max(s(p), to(p)) }
}

func union(shapes ...shape) shape {
	return func(p vec) float64 {
		d := math.Inf(1)
		for _, s := range shapes {
			d = math.Min(d, s(p))
		}
		return d
	}
}

func subtract(s, hole shape) shape {
	return func(p vec) float64 { return math.Max(s(p), -hole(p)) }
}

// outline turns a filled shape into a stroke of the given width centred on
// its edge.
func outline(s shape, width float64) shape {
	return func(p vec) float64 { return math.Abs(s(p)) - width/2 }
}

func (c *canvas) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, c.size, c.size))
	for i, p := range c.pix {
		if p.a <= 0 {
			continue
		}
		img.Pix[i*4+0] = to8(p.r / p.a)
		img.Pix[i*4+1] = to8(p.g / p.a)
		img.Pix[i*4+2] = to8(p.b / p.a)
		img.Pix[i*4+3] = to8(p.a)
	}
	return img
}

func to8(v float64) uint8 { return uint8(math.Round(clamp01(v) * 255)) }

// Shapes. All sizes are in unit-square coordinates.

func circle(centre vec, r float64) shape {
	return func(p vec) float64 { return p.sub(centre).length() - r }
}

func ellipse(centre vec, rx, ry float64) shape {
	// Not an exact distance, but close enough near the edge for
	// anti-aliasing: scale by the gradient of the implicit function.
	return func(p vec) float64 {
		q := p.sub(centre)
		k0 := vec{q.x / rx, q.y / ry}.length()
		k1 := vec{q.x / (rx * rx), q.y / (ry * ry)}.length()
		if k1 == 0 {
			return -math.Min(rx, ry)
		}
		return k0 * (k0 - 1) / k1
	}
}

// roundRect is a rectangle centred at centre with half-extents half and
// corner radius r.
func roundRect(centre, half vec, r float64) shape {
	return func(p vec) float64 {
		q := p.sub(centre).abs().sub(half).add(vec{r, r})
		out := vec{math.Max(q.x, 0), math.Max(q.y, 0)}.length()
		return out + math.Min(math.Max(q.x, q.y), 0) - r
	}
}

// squircle is the superellipse |x|^n + |y|^n = r^n that macOS icons are
// shaped like (n = 5 is close to Apple's continuous-corner rectangle).
func squircle(centre vec, r, n float64) shape {
	return func(p vec) float64 {
		q := p.sub(centre).abs().scale(1 / r)
		if q.x == 0 && q.y == 0 {
			return -r
		}
		xn, yn := math.Pow(q.x, n), math.Pow(q.y, n)
		s := math.Pow(xn+yn, 1/n)
		// gradient of s, to turn s-1 into a distance.
		k := math.Pow(s, 1-n)
		gx := math.Pow(q.x, n-1) * k
		gy := math.Pow(q.y, n-1) * k
		return (s - 1) * r / math.Hypot(gx, gy)
	}
}

// segment is a capsule from a to b with radius r.
func segment(a, b vec, r float64) shape {
	return func(p vec) float64 {
		pa, ba := p.sub(a), b.sub(a)
		h := clamp01(pa.dot(ba) / ba.dot(ba))
		return pa.sub(ba.scale(h)).length() - r
	}
}

// vesica is the lens made by two circles of radius r whose centres are 2d
// apart, centred at the origin with its points on the y axis.
func vesica(r, d float64) shape {
	b := math.Sqrt(r*r - d*d)
	return func(p vec) float64 {
		p = p.abs()
		if (p.y-b)*d > p.x*b {
			return p.sub(vec{0, b}).length()
		}
		return p.sub(vec{-d, 0}).length() - r
	}
}

// polygon is a simple polygon through the given points.
func polygon(pts ...vec) shape {
	return func(p vec) float64 {
		d := p.sub(pts[0]).dot(p.sub(pts[0]))
		sign := 1.0
		for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
			e := pts[j].sub(pts[i])
			w := p.sub(pts[i])
			b := w.sub(e.scale(clamp01(w.dot(e) / e.dot(e))))
			d = math.Min(d, b.dot(b))
			c1 := p.y >= pts[i].y
			c2 := p.y < pts[j].y
			c3 := e.x*w.y > e.y*w.x
			if (c1 && c2 && c3) || (!c1 && !c2 && !c3) {
				sign = -sign
			}
		}
		return sign * math.Sqrt(d)
	}
}

// moved places a shape drawn around the origin at centre, turned by rad.
func moved(s shape, centre vec, rad float64) shape {
	return func(p vec) float64 { return s(p.sub(centre).rotate(-rad)) }
}
