package qemu

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
)

// maxPPMPixels bounds the pictures decodePPM accepts (16384²), so a corrupt
// header cannot make it allocate without limit.
const maxPPMPixels = 1 << 28

// decodePPM reads a binary PPM (P6), what QMP screendump writes: "P6",
// width, height and maxval separated by whitespace (with # comments), one
// whitespace byte, then RGB samples of one byte (maxval < 256) or two
// big-endian bytes.
func decodePPM(r io.Reader) (*image.NRGBA, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, 2)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "P6" {
		return nil, errors.New("not a binary PPM (P6) image")
	}
	var hdr [3]int // width, height, maxval
	for i := range hdr {
		n, err := ppmHeaderInt(br)
		if err != nil {
			return nil, fmt.Errorf("PPM header: %w", err)
		}
		hdr[i] = n
	}
	w, h, maxval := hdr[0], hdr[1], hdr[2]
	switch {
	case w <= 0 || h <= 0 || w*h > maxPPMPixels:
		return nil, fmt.Errorf("PPM header: size %dx%d is out of range", w, h)
	case maxval <= 0 || maxval > 65535:
		return nil, fmt.Errorf("PPM header: maxval %d is out of range 1-65535", maxval)
	}
	// The header ends with exactly one whitespace byte; ppmHeaderInt
	// consumed it after maxval.
	bps := 1
	if maxval > 255 {
		bps = 2
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	row := make([]byte, w*3*bps)
	for y := 0; y < h; y++ {
		if _, err := io.ReadFull(br, row); err != nil {
			return nil, fmt.Errorf("PPM pixels, row %d of %d: %w", y, h, err)
		}
		pix := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			for k := 0; k < 3; k++ {
				v := int(row[(x*3+k)*bps])
				if bps == 2 {
					v = v<<8 | int(row[(x*3+k)*bps+1])
				}
				pix[x*4+k] = uint8((min(v, maxval)*255 + maxval/2) / maxval)
			}
			pix[x*4+3] = 255
		}
	}
	return img, nil
}

// ppmHeaderInt skips whitespace and comments, reads a decimal number and
// consumes the one whitespace byte after it.
func ppmHeaderInt(br *bufio.Reader) (int, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("truncated: %w", err)
		}
		switch {
		case b == '#':
			if _, err := br.ReadString('\n'); err != nil {
				return 0, fmt.Errorf("truncated in a comment: %w", err)
			}
		case isPPMSpace(b):
		case b >= '0' && b <= '9':
			n := int(b - '0')
			for {
				b, err := br.ReadByte()
				if err != nil {
					return 0, fmt.Errorf("truncated: %w", err)
				}
				if isPPMSpace(b) {
					return n, nil
				}
				if b < '0' || b > '9' {
					return 0, fmt.Errorf("unexpected %q in a number", b)
				}
				if n = n*10 + int(b-'0'); n > 1<<30 {
					return 0, errors.New("number too large")
				}
			}
		default:
			return 0, fmt.Errorf("unexpected %q", b)
		}
	}
}

func isPPMSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

// ppmToPNG converts the PPM file src into the PNG file dst, replacing dst
// only once the PNG is complete.
func ppmToPNG(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := decodePPM(f)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".screenshot-*.png")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if err := png.Encode(tmp, img); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", dst, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	return nil
}
