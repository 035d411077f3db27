package assets

import (
	"image"
	"math"
)

// Icon draws the Vivarium icon, size pixels square: a glass window with a
// leaf growing in it, on a calm green macOS-style squircle. Small sizes are
// drawn with less detail and less margin, and with their edges on whole
// pixels, the way hand-hinted Mac icons are, so that the window and the leaf
// still read at 16 px.
func Icon(size int) image.Image {
	c := newCanvas(size)
	l := iconLayout(size)
	snap := func(v float64) float64 { return math.Round(v*float64(size)) / float64(size) }
	centre := vec{0.5, 0.5}

	// The plate: a squircle with Apple's drop shadow beneath it.
	plate := squircle(centre, snap(l.plate), 5)
	if l.detail > 0 {
		c.shadow(plate, vec{0, 0.012}, 0.02, rgba{0, 0, 0, 0.30})
	}
	c.fill(plate, linear(vec{0.5, 0.1}, vec{0.5, 0.9}, rgb(0x6b, 0xc4, 0xa6), rgb(0x1d, 0x6e, 0x67)))
	if l.detail > 0 {
		// A faint sheen fading down from the top edge.
		c.fill(plate, linear(vec{0.5, 0.1}, vec{0.5, 0.5}, rgba{1, 1, 1, 0.16}, rgba{1, 1, 1, 0}))
	}

	// The window: frosted glass with a title bar.
	left, right := snap(l.win.x-l.winHalf.x), snap(l.win.x+l.winHalf.x)
	top, bottom := snap(l.win.y-l.winHalf.y), snap(l.win.y+l.winHalf.y)
	barBottom := snap(top + l.bar)
	winCentre := vec{(left + right) / 2, (top + bottom) / 2}
	winHalf := vec{(right - left) / 2, (bottom - top) / 2}
	win := roundRect(winCentre, winHalf, l.winRadius)
	if l.detail > 0 {
		c.shadow(win, vec{0, 0.014}, 0.03, rgba{0.02, 0.20, 0.18, 0.35})
	}
	c.fill(win, linear(vec{0.5, top}, vec{0.5, bottom}, rgb(0xfb, 0xfe, 0xfc), rgb(0xd9, 0xf0, 0xe6)))
	bar := clip(roundRect(vec{winCentre.x, (top + barBottom) / 2}, vec{winHalf.x, (barBottom - top) / 2}, 0), win)
	c.fill(bar, solid(rgb(0xc4, 0xe3, 0xd7)))
	if l.detail > 0 {
		// The title bar's lower edge.
		edge := clip(roundRect(vec{winCentre.x, barBottom}, vec{winHalf.x, 0.0025}, 0), win)
		c.fill(edge, solid(rgb(0xa9, 0xd2, 0xc3)))
	}
	if l.detail > 1 {
		// The three window buttons.
		dotR := l.bar * 0.19
		x0 := left + l.bar*0.62
		for i, col := range []rgba{rgb(0xff, 0x5f, 0x57), rgb(0xfe, 0xbc, 0x2e), rgb(0x28, 0xc8, 0x40)} {
			c.fill(circle(vec{x0 + float64(i)*dotR*3.2, (top + barBottom) / 2}, dotR), solid(col))
		}
	}

	// The leaf, in the window's pane.
	drawLeaf(c, vec{winCentre.x, (barBottom + bottom) / 2}, l.leaf, l.detail > 1)
	return c.image()
}

type layout struct {
	detail    int     // 0: bare shapes; 1: shadows; 2: window buttons and leaf veins
	plate     float64 // half-width of the squircle
	win       vec     // centre of the window
	winHalf   vec     // half-extents of the window
	winRadius float64 // corner radius of the window
	bar       float64 // height of the title bar
	leaf      float64 // length of the leaf
}

func iconLayout(size int) layout {
	switch {
	case size <= 16:
		return layout{plate: 7.0 / 16, win: vec{0.5, 0.53}, winHalf: vec{5.0 / 16, 4.5 / 16}, winRadius: 1.0 / 16, bar: 2.0 / 16, leaf: 0.5}
	case size <= 32:
		return layout{plate: 14.0 / 32, win: vec{0.5, 0.52}, winHalf: vec{10.0 / 32, 8.5 / 32}, winRadius: 1.5 / 32, bar: 3.0 / 32, leaf: 0.44}
	case size < 128:
		return layout{detail: 1, plate: 824.0 / 2048, win: vec{0.5, 0.515}, winHalf: vec{0.28, 0.23}, winRadius: 0.045, bar: 0.095, leaf: 0.36}
	default:
		// Apple's grid: an 824 px plate on a 1024 px canvas.
		return layout{detail: 2, plate: 824.0 / 2048, win: vec{0.5, 0.515}, winHalf: vec{0.275, 0.225}, winRadius: 0.045, bar: 0.085, leaf: 0.34}
	}
}

// drawLeaf draws a leaf of the given length centred at centre, its tip
// leaning up and to the right, with a short stem.
func drawLeaf(c *canvas, centre vec, length float64, veins bool) {
	const lean = math.Pi / 4 // the leaf's axis, clockwise from straight up
	half := length / 2
	// The leaf is drawn upright in its own frame, tip at (0, -half), then
	// turned and given a slight curve, so the blade, midrib and veins bend
	// together.
	frame := func(s shape) shape {
		return func(p vec) float64 {
			q := p.sub(centre).rotate(-lean)
			q.x -= 0.12 * (q.y*q.y - half*half) / length
			return s(q)
		}
	}
	r := length * 0.68
	lens := vesica(r, math.Sqrt(r*r-half*half))
	// Wider towards the base and finer towards the tip.
	blade := func(q vec) float64 {
		f := math.Max(0.5, 1+0.22*q.y/half)
		return lens(vec{q.x / f, q.y}) * math.Min(f, 1)
	}
	body := frame(blade)
	base := vec{0, half}
	stemWidth := math.Max(length*0.035, 0.7/float64(c.size))
	stem := frame(segment(base.sub(vec{0, length * 0.1}), base.add(vec{-length * 0.03, length * 0.17}), stemWidth))

	tip := centre.add(vec{0, -1}.rotate(lean).scale(half))
	bottom := centre.add(vec{0, 1}.rotate(lean).scale(half))
	c.fill(stem, solid(rgb(0x27, 0x85, 0x42)))
	c.fill(body, linear(tip, bottom, rgb(0x62, 0xc6, 0x50), rgb(0x1f, 0x8a, 0x45)))
	if !veins {
		return
	}
	// The midrib and a few veins, lighter than the blade.
	vein := solid(rgb(0xb9, 0xe8, 0x9a).withAlpha(0.85))
	c.fill(clip(frame(segment(base, vec{0, -half * 0.8}, length*0.013)), body), vein)
	for _, y := range []float64{0.45, 0.05, -0.35} {
		from := vec{0, y * half}
		for _, side := range []float64{-1, 1} {
			to := from.add(vec{side * half * 0.34, -half * 0.44})
			c.fill(clip(frame(segment(from, to, length*0.008)), body), vein)
		}
	}
}
