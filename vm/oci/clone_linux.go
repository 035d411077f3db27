package oci

import (
	"os"

	"golang.org/x/sys/unix"
)

// cloneRange makes [off, off+n) of dst share src's blocks (FICLONERANGE:
// XFS, btrfs), so a pulled disk and the store's chunks take the space once.
func cloneRange(dst, src *os.File, off, n int64) error {
	return unix.IoctlFileCloneRange(int(dst.Fd()), &unix.FileCloneRange{
		Src_fd: int64(src.Fd()), Src_length: uint64(n), Dest_offset: uint64(off),
	})
}

// copyData copies the data regions of src (n bytes) into dst at off with
// copy_file_range(2): the kernel copies (or shares blocks, where the
// filesystem can) without the data passing through here; holes stay holes.
func copyData(dst, src *os.File, off, n int64) error {
	for pos := int64(0); pos < n; {
		start, err := unix.Seek(int(src.Fd()), pos, unix.SEEK_DATA)
		if err == unix.ENXIO {
			return nil
		}
		if err != nil {
			return err
		}
		end, err := unix.Seek(int(src.Fd()), start, unix.SEEK_HOLE)
		if err != nil {
			return err
		}
		end = min(end, n)
		for s := start; s < end; {
			d := off + s
			in := s
			w, err := unix.CopyFileRange(int(src.Fd()), &in, int(dst.Fd()), &d, int(end-s), 0)
			if err != nil {
				return err
			}
			if w == 0 {
				return unix.EIO
			}
			s += int64(w)
		}
		pos = end
	}
	return nil
}
