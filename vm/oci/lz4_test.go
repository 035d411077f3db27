package oci

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

func decodeAll(t *testing.T, stream []byte) ([]byte, error) {
	t.Helper()
	var got []byte
	err := decodeLZ4(bytes.NewReader(stream), func(b []byte) error {
		got = append(got, b...)
		return nil
	})
	return got, err
}

// appleBlock frames a raw LZ4 block the way Apple's Compression framework
// does, by the format's description, independent of our encoder.
func appleBlock(decoded int, raw []byte) []byte {
	out := []byte("bv41")
	out = binary.LittleEndian.AppendUint32(out, uint32(decoded))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(raw)))
	return append(out, raw...)
}

func TestDecodeAppleFramedStream(t *testing.T) {
	// Block 1: the literals "abcdefgh" (token 0x80: 8 literals, no match).
	b1 := appleBlock(8, append([]byte{0x80}, "abcdefgh"...))
	// Block 2 copies 8 bytes from 8 back, that is from block 1's output (a
	// match into the previous block, which Apple's stream allows), then one
	// literal: token 0x04 = 0 literals, match length 4+4; offset 8; then the
	// last sequence, token 0x10 and "X".
	b2 := appleBlock(9, []byte{0x04, 8, 0, 0x10, 'X'})
	stored := append([]byte("bv4-"), 3, 0, 0, 0, 'x', 'y', 'z')
	stream := append(append(append(b1, b2...), stored...), "bv4$"...)
	got, err := decodeAll(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	if want := "abcdefghabcdefghXxyz"; string(got) != want {
		t.Errorf("decoded %q, want %q", got, want)
	}
}

func TestLZ4RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 3*lz4BlockSize+123)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	text := bytes.Repeat([]byte("vivarium pushes disks to registries. "), 20000)
	mixed := append(append(append([]byte{}, random[:5000]...), make([]byte, 200000)...), text[:70000]...)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{7}},
		{"zeros", make([]byte, 5*lz4BlockSize)},
		{"random (stored blocks)", random},
		{"text", text},
		{"mixed", mixed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e lz4Encoder
			stream := appendEnd(e.appendBlocks(nil, tc.data))
			got, err := decodeAll(t, stream)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Fatalf("round trip changed the data (%d bytes back, %d in)", len(got), len(tc.data))
			}
			if tc.name == "zeros" && len(stream) > len(tc.data)/50 {
				t.Errorf("zeros compressed to %d bytes of %d", len(stream), len(tc.data))
			}
		})
	}
}

func TestLZ4ZerosOfAnyLength(t *testing.T) {
	for _, n := range []int{0, 1, lz4BlockSize, 3*lz4BlockSize + 5} {
		var e lz4Encoder
		got, err := decodeAll(t, appendEnd(e.appendZeros(nil, n)))
		if err != nil || !bytes.Equal(got, make([]byte, n)) {
			t.Errorf("%d zeros came back as %d bytes (%v)", n, len(got), err)
		}
	}
}

func TestDecodeRejectsBrokenStreams(t *testing.T) {
	var e lz4Encoder
	good := appendEnd(e.appendBlocks(nil, bytes.Repeat([]byte("abc"), 1000)))
	for _, tc := range []struct {
		name   string
		stream []byte
	}{
		{"no end marker", good[:len(good)-4]},
		{"cut inside a block", good[:20]},
		{"unknown marker", append([]byte("bvxx"), good...)},
		{"lies about its size", appleBlock(100, []byte{0x80, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'})},
		{"LZ4 frame format", []byte{0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeAll(t, tc.stream); !errors.Is(err, ErrCorruptChunk) {
				t.Errorf("err = %v, want ErrCorruptChunk", err)
			}
		})
	}
}
