package bundle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"
)

// icnsMember is one image of an .icns file: its four-character type and its
// size in pixels. Every member here holds a PNG, which macOS reads for all of
// these types since 10.7.
type icnsMember struct {
	kind   string
	pixels int
}

// icnsMembers are the images iconutil puts in an app icon: 16 to 512 points
// at 1x and 2x.
func icnsMembers() []icnsMember {
	return []icnsMember{
		{"icp4", 16},   // 16x16
		{"icp5", 32},   // 32x32
		{"icp6", 64},   // 64x64
		{"ic07", 128},  // 128x128
		{"ic08", 256},  // 256x256
		{"ic09", 512},  // 512x512
		{"ic10", 1024}, // 512x512@2x
		{"ic11", 32},   // 16x16@2x
		{"ic12", 64},   // 32x32@2x
		{"ic13", 256},  // 128x128@2x
		{"ic14", 512},  // 256x256@2x
	}
}

// EncodeICNS writes an .icns file whose images are drawn by draw at each
// pixel size an app icon needs. Each size is drawn once, at its own size
// rather than scaled from the largest, so a drawing can keep small sizes
// crisp.
func EncodeICNS(w io.Writer, draw func(pixels int) image.Image) error {
	members := icnsMembers()
	encoded := map[int][]byte{}
	for _, m := range members {
		if _, ok := encoded[m.pixels]; ok {
			continue
		}
		img := draw(m.pixels)
		if b := img.Bounds(); b.Dx() != m.pixels || b.Dy() != m.pixels {
			return fmt.Errorf("icon for %s is %dx%d, want %dx%d", m.kind, b.Dx(), b.Dy(), m.pixels, m.pixels)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return fmt.Errorf("icon for %s: encode PNG: %w", m.kind, err)
		}
		encoded[m.pixels] = buf.Bytes()
	}

	// A table of contents first, as iconutil writes it, then the images.
	const header = 8 // four-character type + big-endian length, which counts the header
	var toc, body bytes.Buffer
	for _, m := range members {
		size := uint32(header + len(encoded[m.pixels]))
		toc.WriteString(m.kind)
		_ = binary.Write(&toc, binary.BigEndian, size)
		body.WriteString(m.kind)
		_ = binary.Write(&body, binary.BigEndian, size)
		body.Write(encoded[m.pixels])
	}
	var out bytes.Buffer
	out.WriteString("icns")
	_ = binary.Write(&out, binary.BigEndian, uint32(header+header+toc.Len()+body.Len()))
	out.WriteString("TOC ")
	_ = binary.Write(&out, binary.BigEndian, uint32(header+toc.Len()))
	out.Write(toc.Bytes())
	out.Write(body.Bytes())
	if _, err := w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("write icns: %w", err)
	}
	return nil
}
