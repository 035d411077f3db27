//go:build darwin

package main

import "runtime"

// The runner's VM window (vz's NSApplication) must run on the main thread;
// keep the main goroutine there from the start.
func init() { runtime.LockOSThread() }
