//go:build !darwin

package vz

import (
	"context"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// Start refuses: Apple Virtualization exists only on macOS.
func (b *Backend) Start(ctx context.Context, spec *vm.RunSpec) (vm.Instance, error) {
	return nil, unsupportedHere(hostcap.AppleVirtualization)
}

// hostLimits is empty: off macOS Start refuses before any limit matters.
func hostLimits() Limits { return Limits{} }
