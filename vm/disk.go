package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// CreateDisk makes a sparse raw image of the given size: instant, and it
// takes no space until the guest writes. It refuses to overwrite a file.
func CreateDisk(path string, size Size) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("%s: making a %s disk: %w", path, size.Human(), noSpace(err))
	}
	return f.Close()
}

// Progress reports bytes done out of a total.
type Progress func(done, total int64)

// CopyMode says how CopyDisk copied a file.
type CopyMode string

const (
	CopyClone  CopyMode = "clone"  // copy-on-write: clonefile(2) or FICLONE
	CopySparse CopyMode = "sparse" // data regions copied, holes kept
)

// CopyDisk copies src to a new file dst. It clones copy-on-write where the
// filesystem can (instant, no space used); otherwise it copies only the
// regions holding data, so holes stay holes. progress may be nil.
func CopyDisk(ctx context.Context, src, dst string, progress Progress) (CopyMode, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", err
	}
	if cloneFile(src, dst) == nil {
		if progress != nil {
			progress(st.Size(), st.Size())
		}
		return CopyClone, nil
	}
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return "", err
	}
	if err := sparseCopy(ctx, in, out, st.Size(), progress); err != nil {
		out.Close()
		os.Remove(dst)
		return "", fmt.Errorf("copying %s: %w", src, noSpace(err))
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return "", noSpace(err)
	}
	return CopySparse, out.Close()
}

const copyChunk = 1 << 20

// sparseCopy copies the data regions of in (found with SEEK_DATA and
// SEEK_HOLE) and leaves the rest of out as holes. Chunks of zeros inside a
// data region are skipped too, which keeps preallocated zeros sparse.
func sparseCopy(ctx context.Context, in, out *os.File, size int64, progress Progress) error {
	if err := out.Truncate(size); err != nil {
		return err
	}
	buf := make([]byte, copyChunk)
	var done int64
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		start, end, err := nextData(in, off, size)
		if err != nil {
			return err
		}
		if start >= size {
			break
		}
		for pos := start; pos < end; {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(int64(len(buf)), end-pos)
			if _, err := in.ReadAt(buf[:n], pos); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if !allZero(buf[:n]) {
				if _, err := out.WriteAt(buf[:n], pos); err != nil {
					return err
				}
			}
			pos += n
			done += n
			if progress != nil {
				progress(min(pos, size), size)
			}
		}
		off = end
	}
	if progress != nil {
		progress(size, size)
	}
	return nil
}

// nextData returns the next data region at or after off. Where the
// filesystem cannot say, the whole rest of the file is one region.
func nextData(f *os.File, off, size int64) (start, end int64, err error) {
	start, err = f.Seek(off, seekData)
	if err != nil {
		if errors.Is(err, syscall.ENXIO) {
			return size, size, nil // no data after off
		}
		return off, size, nil
	}
	end, err = f.Seek(start, seekHole)
	if err != nil {
		return start, size, nil
	}
	return start, end, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w; free up space or choose another location", ErrNoSpace, err)
	}
	return err
}

// Allocated is how many bytes a file really takes on disk.
func Allocated(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return allocated(st), nil
}

func allocated(st os.FileInfo) int64 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int64(sys.Blocks) * 512
	}
	return st.Size()
}
