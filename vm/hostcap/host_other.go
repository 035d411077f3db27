//go:build !darwin

package hostcap

import "runtime"

// Current describes this host. Off macOS it has no macOS version, so every
// feature of Apple Virtualization is unavailable, with a sentence saying so.
func Current() Host { return Host{OS: runtime.GOOS, Arch: runtime.GOARCH} }
