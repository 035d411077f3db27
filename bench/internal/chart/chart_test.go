package chart

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"math"
	"testing"
)

func countColor(img image.Image, want [3]uint32) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if [3]uint32{r >> 8, g >> 8, bl >> 8} == want {
				n++
			}
		}
	}
	return n
}

func TestRenderDrawsEveryCurve(t *testing.T) {
	for _, tt := range []struct {
		name  string
		panel Panel
	}{
		{"log-log", Panel{Title: "clone", LogX: true, LogY: true, Series: []Series{
			{Label: "ours", Points: []Point{{1, 2}, {16, 2.1}, {256, 2.2}}},
			{Label: "cp", Points: []Point{{1, 900}, {16, 950}, {256, 1000}}, Dashed: true},
		}}},
		{"linear, one point each", Panel{Title: "list", Series: []Series{
			{Label: "ours", Points: []Point{{10, 3}}},
			{Label: "cat", Points: []Point{{10, 5}}},
		}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, 400, 300, []Panel{tt.panel, tt.panel}); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if img.Bounds().Dx() != 800 || img.Bounds().Dy() != 300 {
				t.Errorf("size %v, want two 400x300 panels side by side", img.Bounds())
			}
			for i := range tt.panel.Series {
				c := palette[i]
				if n := countColor(img, [3]uint32{uint32(c.R), uint32(c.G), uint32(c.B)}); n < 40 {
					t.Errorf("series %d (%s) left only %d pixels of its color", i, tt.panel.Series[i].Label, n)
				}
			}
		})
	}
}

func TestRenderRefusesEmptyPanel(t *testing.T) {
	err := Render(&bytes.Buffer{}, 400, 300, []Panel{{Title: "nothing"}})
	if !errors.Is(err, ErrNoData) {
		t.Fatalf("empty panel: %v, want ErrNoData", err)
	}
}

func TestLogTicksCoverTheRange(t *testing.T) {
	for _, tt := range []struct {
		name   string
		lo, hi float64
		want   []float64
	}{
		{"four decades", 1, 1e4, []float64{1, 10, 100, 1000, 1e4}},
		{"short range gets 2 and 5", 1, 100, []float64{1, 2, 5, 10, 20, 50, 100}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := axis{log: true, lo: math.Log10(tt.lo), hi: math.Log10(tt.hi)}
			got := a.ticks()
			if len(got) != len(tt.want) {
				t.Fatalf("ticks %v, want %v", got, tt.want)
			}
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 1e-9*tt.want[i] {
					t.Fatalf("ticks %v, want %v", got, tt.want)
				}
			}
		})
	}
}
