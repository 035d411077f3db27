//go:build !linux

// Command vivbench measures Vivarium against the plain tools; it runs on
// Linux, where it reads /proc and mounts filesystems.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "vivbench: the benchmarks run on Linux (they read /proc and loop-mount filesystems)")
	os.Exit(1)
}
