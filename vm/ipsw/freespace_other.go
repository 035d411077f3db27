//go:build !darwin && !linux && !windows

package ipsw

// FreeSpace can't tell on this system; downloads then skip the check.
func FreeSpace(dir string) (uint64, error) { return 0, errFreeSpaceUnknown }
