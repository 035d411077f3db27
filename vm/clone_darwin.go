package vm

import "golang.org/x/sys/unix"

const (
	seekData = unix.SEEK_DATA
	seekHole = unix.SEEK_HOLE
)

// cloneFile makes dst a copy-on-write clone of src with clonefile(2)
// (APFS). dst must not exist.
func cloneFile(src, dst string) error {
	return unix.Clonefile(src, dst, unix.CLONE_NOFOLLOW)
}
