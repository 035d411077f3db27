package oci

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pierrec/lz4/v4"
)

// Tart compresses each disk chunk with Apple's Compression framework
// (COMPRESSION_LZ4). Its stream is not the LZ4 frame format but Apple's own
// framing of raw LZ4 blocks:
//
//	"bv41" u32le decoded-size u32le encoded-size <raw LZ4 block>
//	"bv4-" u32le size <size bytes stored as they are>
//	"bv4$"                                  end of stream
//
// A block may copy from the 64 KiB that the blocks before it decoded to, so
// the decoder keeps that much history as the block's dictionary.
var (
	magicCompressed   = [4]byte{'b', 'v', '4', '1'}
	magicUncompressed = [4]byte{'b', 'v', '4', '-'}
	magicEnd          = [4]byte{'b', 'v', '4', '$'}
)

const (
	// lz4BlockSize is how much each block of ours decodes to. Apple's
	// encoder writes blocks of this order; every decoder of the format
	// takes them.
	lz4BlockSize = 64 << 10
	// lz4History is how far back a block may copy (LZ4's window).
	lz4History = 64 << 10
	// maxBlockSize bounds a block read from the network, so a broken or
	// hostile stream cannot make us allocate without limit.
	maxBlockSize = 64 << 20
)

// ErrCorruptChunk means a disk chunk is not a valid Apple LZ4 stream.
var ErrCorruptChunk = errors.New("the disk chunk is not a valid LZ4 stream")

// lz4Encoder turns data into Apple-framed LZ4, block by block. Blocks are
// compressed independently, which every decoder accepts.
type lz4Encoder struct {
	c   lz4.Compressor
	buf []byte
	// skip counts blocks still to store without trying to compress them:
	// after a block that does not compress (random or already compressed
	// data), the next ones rarely do, and trying costs more than storing.
	skip int
	// zeroBlock is a whole block of zeros, framed: disks are mostly zeros,
	// and a zero block always encodes the same.
	zeroBlock []byte
}

// appendZeros appends n zero bytes, framed.
func (e *lz4Encoder) appendZeros(out []byte, n int) []byte {
	if e.zeroBlock == nil {
		e.zeroBlock = e.compress(nil, make([]byte, lz4BlockSize))
	}
	for ; n >= lz4BlockSize; n -= lz4BlockSize {
		out = append(out, e.zeroBlock...)
	}
	if n > 0 {
		out = e.compress(out, make([]byte, n))
	}
	return out
}

// incompressibleRun is how many blocks follow an incompressible one
// stored as they are before trying again.
const incompressibleRun = 7

// appendBlocks appends the framed blocks of src (any length) to out.
func (e *lz4Encoder) appendBlocks(out, src []byte) []byte {
	for len(src) > 0 {
		n := min(len(src), lz4BlockSize)
		if n == lz4BlockSize && allZero(src[:n]) {
			out = e.appendZeros(out, n)
		} else {
			out = e.compress(out, src[:n])
		}
		src = src[n:]
	}
	return out
}

// compress appends the framed blocks of src, trying to compress each.
func (e *lz4Encoder) compress(out, src []byte) []byte {
	if e.buf == nil {
		e.buf = make([]byte, lz4.CompressBlockBound(lz4BlockSize))
	}
	for len(src) > 0 {
		n := min(len(src), lz4BlockSize)
		block := src[:n]
		src = src[n:]
		m := 0
		if e.skip > 0 && !allZero(block) {
			e.skip--
		} else {
			var err error
			if m, err = e.c.CompressBlock(block, e.buf); err != nil || m == 0 || m >= n {
				m = 0
				e.skip = incompressibleRun
			}
		}
		if m == 0 {
			out = append(out, magicUncompressed[:]...)
			out = binary.LittleEndian.AppendUint32(out, uint32(n))
			out = append(out, block...)
			continue
		}
		out = append(out, magicCompressed[:]...)
		out = binary.LittleEndian.AppendUint32(out, uint32(n))
		out = binary.LittleEndian.AppendUint32(out, uint32(m))
		out = append(out, e.buf[:m]...)
	}
	return out
}

// appendEnd appends the end-of-stream marker.
func appendEnd(out []byte) []byte { return append(out, magicEnd[:]...) }

// decodeLZ4 reads one Apple-framed LZ4 stream from r and hands each decoded
// block to emit, in order. The slice is reused after emit returns. It reads
// nothing past the end marker.
func decodeLZ4(r io.Reader, emit func([]byte) error) error {
	var hdr [12]byte
	var enc []byte
	// out holds up to lz4History bytes of history followed by the block
	// being decoded, so a block can copy from the blocks before it.
	out := make([]byte, 0, lz4History+lz4BlockSize)
	hist := 0
	for {
		if _, err := io.ReadFull(r, hdr[:4]); err != nil {
			return truncated(err)
		}
		var magic [4]byte
		copy(magic[:], hdr[:4])
		switch magic {
		case magicEnd:
			return nil
		case magicUncompressed:
			if _, err := io.ReadFull(r, hdr[4:8]); err != nil {
				return truncated(err)
			}
			n := int(binary.LittleEndian.Uint32(hdr[4:8]))
			if n > maxBlockSize {
				return fmt.Errorf("%w: a block of %d bytes", ErrCorruptChunk, n)
			}
			out = grow(out, hist+n)
			if _, err := io.ReadFull(r, out[hist:hist+n]); err != nil {
				return truncated(err)
			}
		case magicCompressed:
			if _, err := io.ReadFull(r, hdr[4:12]); err != nil {
				return truncated(err)
			}
			n := int(binary.LittleEndian.Uint32(hdr[4:8]))
			m := int(binary.LittleEndian.Uint32(hdr[8:12]))
			if n > maxBlockSize || m > maxBlockSize {
				return fmt.Errorf("%w: a block of %d bytes (%d encoded)", ErrCorruptChunk, n, m)
			}
			if cap(enc) < m {
				enc = make([]byte, m)
			}
			enc = enc[:m]
			if _, err := io.ReadFull(r, enc); err != nil {
				return truncated(err)
			}
			out = grow(out, hist+n)
			got, err := lz4.UncompressBlockWithDict(enc, out[hist:hist+n], out[:hist])
			if err != nil || got != n {
				return fmt.Errorf("%w: a block decodes to %d bytes, not %d (%v)", ErrCorruptChunk, got, n, err)
			}
		default:
			return fmt.Errorf("%w: unknown block marker %q", ErrCorruptChunk, magic[:])
		}
		n := len(out) - hist
		if err := emit(out[hist:]); err != nil {
			return err
		}
		// Keep the last lz4History bytes as the next block's history.
		keep := min(lz4History, hist+n)
		copy(out, out[hist+n-keep:hist+n])
		out = out[:keep]
		hist = keep
	}
}

// truncated explains a read that failed inside the stream: the stream
// ended early (corrupt), or the reading itself failed (passed on as is).
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: it ends before its end marker", ErrCorruptChunk)
	}
	return err
}

// grow returns b with length n, keeping its contents.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		nb := make([]byte, n, n+n/4)
		copy(nb, b)
		return nb
	}
	return b[:n]
}
