package qemu

import (
	"bytes"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodePPM(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		w, h    int
		pixels  map[[2]int]color.NRGBA // spot checks
		wantErr string
	}{
		{
			name: "what screendump writes",
			data: "P6\n2 1\n255\n" + "\xff\x00\x00" + "\x00\x80\xff",
			w:    2, h: 1,
			pixels: map[[2]int]color.NRGBA{{0, 0}: {255, 0, 0, 255}, {1, 0}: {0, 128, 255, 255}},
		},
		{
			name: "comments and odd whitespace",
			data: "P6 # made by hand\n1\t# width\n2\r\n15 " + "\x0f\x00\x0f" + "\x00\x0f\x00",
			w:    1, h: 2,
			pixels: map[[2]int]color.NRGBA{{0, 0}: {255, 0, 255, 255}, {0, 1}: {0, 255, 0, 255}},
		},
		{
			name: "16-bit samples",
			data: "P6\n1 1\n65535\n" + "\xff\xff\x80\x00\x00\x00",
			w:    1, h: 1,
			pixels: map[[2]int]color.NRGBA{{0, 0}: {255, 128, 0, 255}},
		},
		{name: "not a PPM", data: "\x89PNG\r\n", wantErr: "not a binary PPM"},
		{name: "ASCII PPM", data: "P3\n1 1\n255\n0 0 0\n", wantErr: "not a binary PPM"},
		{name: "truncated pixels", data: "P6\n2 2\n255\n\x00\x00\x00", wantErr: "row 0 of 2"},
		{name: "zero maxval", data: "P6\n1 1\n0\n\x00\x00\x00", wantErr: "maxval 0"},
		{name: "absurd size", data: "P6\n100000 100000\n255\n", wantErr: "out of range"},
		{name: "garbage in header", data: "P6\n1 x\n255\n", wantErr: "unexpected 'x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := decodePPM(strings.NewReader(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("decodePPM error = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodePPM: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Fatalf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.w, tt.h)
			}
			for xy, want := range tt.pixels {
				if got := img.NRGBAAt(xy[0], xy[1]); got != want {
					t.Errorf("pixel %v = %v, want %v", xy, got, want)
				}
			}
		})
	}
}

func TestPPMToPNG(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "screen.ppm"), filepath.Join(dir, "thumbnail.png")
	var ppm bytes.Buffer
	ppm.WriteString("P6\n3 2\n255\n")
	for i := 0; i < 6; i++ {
		ppm.Write([]byte{byte(i * 40), 10, 200})
	}
	if err := os.WriteFile(src, ppm.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte("an older thumbnail"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ppmToPNG(src, dst); err != nil {
		t.Fatalf("ppmToPNG: %v", err)
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
		t.Fatalf("PNG is %dx%d, want 3x2", b.Dx(), b.Dy())
	}
	if got, want := color.NRGBAModel.Convert(img.At(2, 1)).(color.NRGBA), (color.NRGBA{200, 10, 200, 255}); got != want {
		t.Errorf("last pixel = %v, want %v", got, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left temporary files behind: %v", entries)
	}

	// A broken dump leaves the old thumbnail alone.
	if err := os.WriteFile(src, []byte("P6\n3 2\n255\n\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ppmToPNG(src, dst); err == nil {
		t.Fatal("ppmToPNG of a truncated dump succeeded")
	}
	if _, err := png.DecodeConfig(mustOpen(t, dst)); err != nil {
		t.Errorf("a failed conversion damaged the previous PNG: %v", err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
