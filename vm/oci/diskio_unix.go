//go:build unix

package oci

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// hasData reports whether f holds data (not only a hole) in [off, off+n).
// Where the filesystem cannot say, it answers yes and the caller reads.
func hasData(f *os.File, off, n int64) bool {
	start, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
	if errors.Is(err, unix.ENXIO) {
		return false
	}
	if err != nil {
		return true
	}
	return start < off+n
}
