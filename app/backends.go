package main

import (
	"fmt"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
	"github.com/vivarium-vm/vivarium/vm/qemu"
	"github.com/vivarium-vm/vivarium/vm/vz"
)

// QEMUEnv names the QEMU program (or its folder) to use; the GUI sets it
// from its preferences when it spawns a runner.
const QEMUEnv = "VIVARIUM_QEMU"

// backendFor returns the backend a config names. A backend this host cannot
// run says so, with the reason, when asked to Check or Start.
func (e *env) backendFor(name string) (vm.Backend, error) {
	switch name {
	case vm.BackendQEMU:
		return &qemu.Backend{QEMUPath: e.getenv(QEMUEnv)}, nil
	case vm.BackendVZ:
		return vz.New(hostcap.Current()), nil
	default:
		return nil, fmt.Errorf("backend %q: %w; use \"vz\" or \"qemu\"", name, vm.ErrUnsupported)
	}
}
