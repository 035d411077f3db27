// Package vz runs VMs with Apple's Virtualization framework through
// github.com/Code-Hex/vz/v3.
//
// It is split the way vfkit is: Plan turns a run (config + files) into a
// typed list of devices in pure Go, tested on every host; the darwin files
// turn each planned device into vz objects, one function per device, and
// end in Validate(). Off macOS, Start refuses with vm.ErrUnsupported.
package vz
