//go:build darwin

package hostcap

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// Current describes this Mac: its macOS version from the
// kern.osproductversion sysctl, and whether this Vivarium is translated by
// Rosetta (sysctl.proc_translated).
func Current() Host {
	h := Host{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if s, err := unix.Sysctl("kern.osproductversion"); err == nil {
		if v, err := ParseVersion(s); err == nil {
			h.Version = v
		}
	}
	if t, err := unix.SysctlUint32("sysctl.proc_translated"); err == nil && t == 1 {
		h.Translated = true
	}
	return h
}
