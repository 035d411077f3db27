//go:build darwin

package vzmod

import (
	"errors"

	"github.com/Code-Hex/vz/v3"
)

func addRosetta(*vz.VirtualMachineConfiguration) error {
	return errors.New("rosetta: needs an Apple silicon Mac")
}
