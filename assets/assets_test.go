package assets

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"strconv"
	"testing"
)

// The committed PNGs are what the app ships: they must be what the drawings
// draw today, or someone changed a drawing and forgot `make icon`.
func TestCommittedPNGsMatchTheirDrawings(t *testing.T) {
	for _, src := range Sources() {
		t.Run(src.File, func(t *testing.T) {
			data, err := os.ReadFile(src.File)
			if err != nil {
				t.Fatalf("%v (run `make icon`)", err)
			}
			committed, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("decode %s: %v", src.File, err)
			}
			drawn := src.Draw()
			if committed.Bounds() != drawn.Bounds() {
				t.Fatalf("%s is %v, the drawing is %v: run `make icon`", src.File, committed.Bounds(), drawn.Bounds())
			}
			// Allow a little rounding: floating point may differ in the
			// last bit between architectures (fused multiply-add on arm64).
			if x, y, diff := maxDifference(committed, drawn); diff > 3 {
				t.Fatalf("%s differs from its drawing by %d at (%d,%d): run `make icon` and commit the PNGs", src.File, diff, x, y)
			}
		})
	}
}

func TestEmbeddedIconsDecode(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		size int
	}{
		{"app icon", IconPNG, IconSize},
		{"macos", OSIcon("macos"), OSIconSize},
		{"linux", OSIcon("linux"), OSIconSize},
		{"other", OSIcon("other"), OSIconSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := png.Decode(bytes.NewReader(tt.data))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := img.Bounds().Dx(); got != tt.size || img.Bounds().Dy() != tt.size {
				t.Fatalf("size %v, want %dx%d", img.Bounds(), tt.size, tt.size)
			}
		})
	}
}

func TestOSIconsDifferAndUnknownFallsBackToOther(t *testing.T) {
	seen := map[string]string{}
	for _, guestOS := range []string{"macos", "linux", "other"} {
		key := string(OSIcon(guestOS))
		if prev, ok := seen[key]; ok {
			t.Errorf("%s and %s have the same icon", prev, guestOS)
		}
		seen[key] = guestOS
	}
	for _, guestOS := range []string{"", "windows", "MacOS"} {
		if !bytes.Equal(OSIcon(guestOS), OSIcon("other")) {
			t.Errorf("OSIcon(%q) is not the \"other\" icon", guestOS)
		}
	}
}

// A Mac icon is a squircle on a transparent canvas: the corners must be
// clear and the middle solid at every size the .icns holds, and the window
// must stand out from the plate even at 16 px.
func TestIconShapeAtEverySize(t *testing.T) {
	for _, size := range []int{16, 32, 64, 128, 256, 512, 1024} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			img := Icon(size)
			if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
				t.Fatalf("bounds %v, want %dx%d", b, size, size)
			}
			for _, corner := range []image.Point{{0, 0}, {size - 1, 0}, {0, size - 1}, {size - 1, size - 1}} {
				if _, _, _, a := img.At(corner.X, corner.Y).RGBA(); a != 0 {
					t.Errorf("corner %v is not transparent (alpha %d)", corner, a>>8)
				}
			}
			// Just inside the plate's left edge, at mid height: the plate.
			plate := img.At(size*3/20, size/2)
			// The window's glass, in the pane above the leaf's tip, a
			// quarter in from the left.
			glass := img.At(size*3/8, size*7/16)
			if _, _, _, a := plate.RGBA(); a != 0xffff {
				t.Errorf("plate at (%d,%d) is not opaque (alpha %d)", size*3/20, size/2, a>>8)
			}
			if luma(glass)-luma(plate) < 0.3 {
				t.Errorf("window glass (luma %.2f) hardly stands out from the plate (luma %.2f)", luma(glass), luma(plate))
			}
		})
	}
}

func maxDifference(a, b image.Image) (x, y int, diff int) {
	r := a.Bounds()
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			ca, cb := toNRGBA(a, px, py), toNRGBA(b, px, py)
			for i := range ca {
				d := int(ca[i]) - int(cb[i])
				if d < 0 {
					d = -d
				}
				// Colour under a fully transparent pixel does not show.
				if i < 3 && ca[3] == 0 && cb[3] == 0 {
					d = 0
				}
				if d > diff {
					x, y, diff = px, py, d
				}
			}
		}
	}
	return x, y, diff
}

func toNRGBA(img image.Image, x, y int) [4]uint8 {
	if n, ok := img.(*image.NRGBA); ok {
		c := n.NRGBAAt(x, y)
		return [4]uint8{c.R, c.G, c.B, c.A}
	}
	r, g, b, a := img.At(x, y).RGBA()
	if a == 0 {
		return [4]uint8{}
	}
	return [4]uint8{uint8(r * 0xff / a), uint8(g * 0xff / a), uint8(b * 0xff / a), uint8(a >> 8)}
}

func luma(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
}
