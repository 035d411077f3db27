package qemu

import "github.com/vivarium-vm/vivarium/vm"

// Sentinel errors of the QEMU backend. Both are also vm.ErrUnsupported:
// the host lacks something the VM needs.
const (
	// ErrNoQEMU means the qemu-system or qemu-img program was not found.
	ErrNoQEMU = hostLacks("QEMU is not installed")
	// ErrNoFirmware means no UEFI firmware was found for an EFI boot.
	ErrNoFirmware = hostLacks("no UEFI firmware")
)

// hostLacks is something this host does not have.
type hostLacks string

func (e hostLacks) Error() string { return string(e) }

// Is makes errors.Is(err, vm.ErrUnsupported) hold.
func (e hostLacks) Is(target error) bool { return target == vm.ErrUnsupported }
