//go:build darwin || linux

package ipsw

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// FreeSpace returns the bytes available to this user on dir's file system.
func FreeSpace(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space on %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
