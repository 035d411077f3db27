//go:build darwin && amd64

package vz

import (
	"github.com/Code-Hex/vz/v3"

	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// On Intel Macs vz/v3 has no Mac platform, Mac devices or Rosetta: Plan
// refuses configs that need them, and these stubs say why if one gets here.

func macPlatform(MacPlatform) (vz.PlatformConfiguration, error) {
	return nil, unsupportedHere(hostcap.MacOSGuest)
}

func macOSBoot() (vz.BootLoader, error) { return nil, unsupportedHere(hostcap.MacOSGuest) }

func macDisplay(MacDisplay) (vz.GraphicsDeviceConfiguration, error) {
	return nil, unsupportedHere(hostcap.MacOSGuest)
}

func macKeyboard() (vz.KeyboardConfiguration, error) {
	return nil, unsupportedHere(hostcap.MacOSGuest)
}

func macTrackpad() (vz.PointingDeviceConfiguration, error) {
	return nil, unsupportedHere(hostcap.MacOSGuest)
}

func rosetta(Rosetta) (vz.DirectorySharingDeviceConfiguration, error) {
	return nil, unsupportedHere(hostcap.Rosetta)
}

func startOptions(*MachinePlan) []vz.VirtualMachineStartOption { return nil }
