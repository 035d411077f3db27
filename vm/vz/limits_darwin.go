//go:build darwin

package vz

import "github.com/Code-Hex/vz/v3"

// hostLimits asks Apple Virtualization for this Mac's bounds.
func hostLimits() Limits {
	return Limits{
		MinCPUs:   vz.VirtualMachineConfigurationMinimumAllowedCPUCount(),
		MaxCPUs:   vz.VirtualMachineConfigurationMaximumAllowedCPUCount(),
		MinMemory: vz.VirtualMachineConfigurationMinimumAllowedMemorySize(),
		MaxMemory: vz.VirtualMachineConfigurationMaximumAllowedMemorySize(),
	}
}
