//go:build darwin

package vzmod

import (
	"fmt"

	"github.com/Code-Hex/vz/v3"
)

// New builds and validates a VM from spec.
func New(spec Spec) (*vz.VirtualMachine, error) {
	boot, err := vz.NewLinuxBootLoader(spec.Kernel, vz.WithCommandLine("console=hvc0"))
	if err != nil {
		return nil, fmt.Errorf("boot loader: %w", err)
	}
	cfg, err := vz.NewVirtualMachineConfiguration(boot, spec.CPUs, spec.Memory)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	attachment, err := vz.NewDiskImageStorageDeviceAttachment(spec.Disk, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Disk, err)
	}
	disk, err := vz.NewVirtioBlockDeviceConfiguration(attachment)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Disk, err)
	}
	cfg.SetStorageDevicesVirtualMachineConfiguration([]vz.StorageDeviceConfiguration{disk})
	if spec.Rosetta {
		if err := addRosetta(cfg); err != nil {
			return nil, err
		}
	}
	if ok, err := cfg.Validate(); !ok || err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	return vz.NewVirtualMachine(cfg)
}
