package assets

import (
	"image"
	"math"
)

// The guest OS names, as a VM's config spells them (vm.OSMacOS and friends).
const (
	osMacOS = "macos"
	osLinux = "linux"
	osOther = "other"
)

// OSIconImage draws the small icon the library shows beside a VM of the given
// guest OS, size pixels square, in the app icon's style: a white or
// two-tone glyph on a coloured squircle. macOS is the command key, Linux a
// penguin, anything else a plain box. An OS it does not know gets the box.
func OSIconImage(guestOS string, size int) image.Image {
	c := newCanvas(size)
	// A list icon has no room to waste: less margin than the app icon.
	plate := squircle(vec{0.5, 0.5}, 0.45, 5)
	switch guestOS {
	case osMacOS:
		c.fill(plate, linear(vec{0.5, 0.05}, vec{0.5, 0.95}, rgb(0x7c, 0xbc, 0xfa), rgb(0x25, 0x6c, 0xd6)))
		c.fill(commandKey(), solid(rgba{1, 1, 1, 1}))
	case osLinux:
		c.fill(plate, linear(vec{0.5, 0.05}, vec{0.5, 0.95}, rgb(0xfd, 0xdb, 0x6d), rgb(0xe8, 0x9a, 0x12)))
		drawPenguin(c)
	default:
		c.fill(plate, linear(vec{0.5, 0.05}, vec{0.5, 0.95}, rgb(0xa4, 0xa6, 0xe6), rgb(0x4f, 0x4c, 0xa6)))
		drawBox(c)
	}
	return c.image()
}

// commandKey is the ⌘ sign: a square whose sides run on into a loop at each
// corner.
func commandKey() shape {
	const (
		a = 0.09  // half the side of the middle square
		r = 0.085 // radius of the loops
		w = 0.048 // stroke width
	)
	centre := vec{0.5, 0.5}
	reach := a + r
	var parts []shape
	for _, s := range []float64{-1, 1} {
		parts = append(parts,
			segment(centre.add(vec{-reach, s * a}), centre.add(vec{reach, s * a}), w/2),
			segment(centre.add(vec{s * a, -reach}), centre.add(vec{s * a, reach}), w/2),
		)
		for _, t := range []float64{-1, 1} {
			loop := centre.add(vec{s * reach, t * reach})
			ring := outline(circle(loop, r), w)
			// The quarter of each loop that faces the middle is not drawn:
			// the square's sides take over there.
			facing := roundRect(loop.add(vec{-s * r, -t * r}), vec{r, r}, 0)
			parts = append(parts, subtract(ring, facing))
		}
	}
	return union(parts...)
}

func drawPenguin(c *canvas) {
	black := rgb(0x26, 0x26, 0x2c)
	white := rgb(0xf8, 0xf6, 0xef)
	orange := rgb(0xf5, 0x9e, 0x0b)
	feet := union(
		ellipse(vec{0.40, 0.775}, 0.095, 0.045),
		ellipse(vec{0.60, 0.775}, 0.095, 0.045),
	)
	body := union(
		ellipse(vec{0.5, 0.56}, 0.19, 0.235),
		circle(vec{0.5, 0.345}, 0.135),
		// Flippers.
		moved(ellipse(vec{}, 0.05, 0.14), vec{0.33, 0.57}, 0.35),
		moved(ellipse(vec{}, 0.05, 0.14), vec{0.67, 0.57}, -0.35),
	)
	c.shadow(union(body, feet), vec{0, 0.012}, 0.012, rgba{0, 0, 0, 0.18})
	c.fill(body, solid(black))
	c.fill(ellipse(vec{0.5, 0.6}, 0.135, 0.18), solid(white))
	for _, s := range []float64{-1, 1} {
		c.fill(ellipse(vec{0.5 + s*0.045, 0.325}, 0.038, 0.052), solid(white))
		c.fill(circle(vec{0.5 + s*0.038, 0.335}, 0.019), solid(black))
	}
	c.fill(ellipse(vec{0.5, 0.395}, 0.062, 0.032), solid(orange))
	c.fill(feet, solid(orange))
}

// drawBox draws a white isometric cube: a machine, of no particular kind.
func drawBox(c *canvas) {
	const (
		s   = 0.27  // edge length
		gap = 0.008 // half the seam between faces
	)
	cx, cy := 0.5, 0.53
	dx := s * math.Cos(math.Pi/6)
	top := vec{cx, cy - s}
	mid := vec{cx, cy}
	bottom := vec{cx, cy + s}
	upLeft, upRight := vec{cx - dx, cy - s/2}, vec{cx + dx, cy - s/2}
	downLeft, downRight := vec{cx - dx, cy + s/2}, vec{cx + dx, cy + s/2}
	face := func(pts ...vec) shape {
		poly := polygon(pts...)
		return func(p vec) float64 { return poly(p) + gap }
	}
	all := polygon(top, upRight, downRight, bottom, downLeft, upLeft)
	c.shadow(all, vec{0, 0.014}, 0.015, rgba{0.05, 0.03, 0.25, 0.30})
	c.fill(face(top, upRight, mid, upLeft), solid(rgba{1, 1, 1, 1}))
	c.fill(face(upLeft, mid, bottom, downLeft), solid(rgb(0xdf, 0xdf, 0xf5)))
	c.fill(face(mid, upRight, downRight, bottom), solid(rgb(0xbb, 0xba, 0xe6)))
}
