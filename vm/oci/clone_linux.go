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
