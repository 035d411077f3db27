//go:build darwin && arm64

package vz

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/Code-Hex/vz/v3"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// macPlatform is the platform of a macOS guest: the hardware model and
// auxiliary storage made when macOS was installed, and the machine
// identifier (made now if it went missing).
func macPlatform(d MacPlatform) (vz.PlatformConfiguration, error) {
	model, err := os.ReadFile(d.HardwareModelPath)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(model) == 0) {
		return nil, fmt.Errorf("%s is missing: macOS was never fully installed in this VM; create it again from a restore image", d.HardwareModelPath)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the hardware model: %w", err)
	}
	hw, err := vz.NewMacHardwareModelWithData(model)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.HardwareModelPath, framework(err))
	}
	if !hw.Supported() {
		return nil, fmt.Errorf("%w: this macOS VM's hardware model is not supported by this Mac (the VM was made on a newer macOS or Mac); update macOS on this Mac", vm.ErrUnsupported)
	}
	id, err := persistedIdentifier(d.MachineIDPath, vz.NewMacMachineIdentifierWithData, vz.NewMacMachineIdentifier)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(d.AuxStoragePath); err != nil {
		return nil, fmt.Errorf("auxiliary storage %s: %w; it is made when macOS is installed, so create the VM again from a restore image", d.AuxStoragePath, err)
	}
	aux, err := vz.NewMacAuxiliaryStorage(d.AuxStoragePath)
	if err != nil {
		return nil, fmt.Errorf("auxiliary storage %s: %w", d.AuxStoragePath, framework(err))
	}
	platform, err := vz.NewMacPlatformConfiguration(
		vz.WithMacHardwareModel(hw),
		vz.WithMacMachineIdentifier(id),
		vz.WithMacAuxiliaryStorage(aux),
	)
	return platform, framework(err)
}

func macOSBoot() (vz.BootLoader, error) {
	boot, err := vz.NewMacOSBootLoader()
	return boot, framework(err)
}

// macDisplay is the Mac graphics device with one display of the configured
// size and density.
func macDisplay(d MacDisplay) (vz.GraphicsDeviceConfiguration, error) {
	gpu, err := vz.NewMacGraphicsDeviceConfiguration()
	if err != nil {
		return nil, framework(err)
	}
	display, err := vz.NewMacGraphicsDisplayConfiguration(int64(d.Width), int64(d.Height), int64(d.PPI))
	if err != nil {
		return nil, framework(err)
	}
	gpu.SetDisplays(display)
	return gpu, nil
}

func macKeyboard() (vz.KeyboardConfiguration, error) {
	kbd, err := vz.NewMacKeyboardConfiguration()
	return kbd, framework(err)
}

func macTrackpad() (vz.PointingDeviceConfiguration, error) {
	pad, err := vz.NewMacTrackpadConfiguration()
	return pad, framework(err)
}

// rosetta is the Rosetta for Linux share. When Rosetta is supported but
// not installed, the error matches ErrRosettaNotInstalled so the app can
// offer InstallRosetta.
func rosetta(d Rosetta) (vz.DirectorySharingDeviceConfiguration, error) {
	switch vz.LinuxRosettaDirectoryShareAvailability() {
	case vz.LinuxRosettaAvailabilityNotInstalled:
		return nil, fmt.Errorf("%w: install it with 'vivarium rosetta install' (or softwareupdate --install-rosetta), then start the VM again", ErrRosettaNotInstalled)
	case vz.LinuxRosettaAvailabilityNotSupported:
		reason, ok := hostcap.Unavailable(hostcap.Current(), hostcap.Rosetta)
		if ok {
			reason = "Rosetta for Linux is not available on this Mac"
		}
		return nil, fmt.Errorf("%w: %s; turn off rosetta in the VM's settings", vm.ErrUnsupported, reason)
	}
	share, err := vz.NewLinuxRosettaDirectoryShare()
	if err != nil {
		return nil, framework(err)
	}
	device, err := vz.NewVirtioFileSystemDeviceConfiguration(d.Tag)
	if err != nil {
		return nil, fmt.Errorf("tag %q: %w", d.Tag, framework(err))
	}
	device.SetDirectoryShare(share)
	return device, nil
}

// startOptions are the options of vz's Start for the plan: recovery boot.
func startOptions(p *MachinePlan) []vz.VirtualMachineStartOption {
	if p.Recovery {
		return []vz.VirtualMachineStartOption{vz.WithStartUpFromMacOSRecovery(true)}
	}
	return nil
}
