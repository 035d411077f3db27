package main

import (
	"fmt"

	"github.com/vivarium-vm/vivarium/vm"
)

// backendFor returns the backend a config names. Backends that this host
// cannot run say so when asked to Check or Start.
func backendFor(name string) (vm.Backend, error) {
	switch name {
	default:
		return nil, fmt.Errorf("backend %q: %w; use \"vz\" or \"qemu\"", name, vm.ErrUnsupported)
	}
}
