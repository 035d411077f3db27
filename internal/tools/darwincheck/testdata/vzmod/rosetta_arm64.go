//go:build darwin

package vzmod

import "github.com/Code-Hex/vz/v3"

// addRosetta shares Rosetta with the guest: vz has it on arm64 only.
func addRosetta(cfg *vz.VirtualMachineConfiguration) error {
	share, err := vz.NewLinuxRosettaDirectoryShare()
	if err != nil {
		return err
	}
	fs, err := vz.NewVirtioFileSystemDeviceConfiguration("rosetta")
	if err != nil {
		return err
	}
	fs.SetDirectoryShare(share)
	cfg.SetDirectorySharingDevicesVirtualMachineConfiguration([]vz.DirectorySharingDeviceConfiguration{fs})
	return nil
}
