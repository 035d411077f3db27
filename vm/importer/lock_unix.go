//go:build unix

package importer

import (
	"os"

	"golang.org/x/sys/unix"
)

// heldByAnother reports whether another process holds a POSIX (fcntl)
// lock on path, as a running `tart run` does on its VM's config.json. It
// only asks; it takes no lock and opens the file read-only.
func heldByAnother(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return false
	}
	return lk.Type != unix.F_UNLCK
}
