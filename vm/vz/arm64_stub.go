//go:build !(darwin && arm64)

package vz

import (
	"context"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// InstallMacOS refuses: macOS guests need macOS on Apple silicon.
func InstallMacOS(ctx context.Context, b vm.Bundle, c *vm.Config, ipswPath string, progress func(float64)) error {
	return unsupportedHere(hostcap.MacOSGuest)
}

// LatestRestoreImageURL refuses: only Apple silicon Macs install macOS
// guests, so only they are offered restore images.
func LatestRestoreImageURL(ctx context.Context) (string, error) {
	return "", unsupportedHere(hostcap.MacOSGuest)
}

// InstallRosetta refuses: Rosetta for Linux needs an Apple silicon Mac.
func InstallRosetta(ctx context.Context) error { return unsupportedHere(hostcap.Rosetta) }
