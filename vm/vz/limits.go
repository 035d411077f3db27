package vz

import (
	"fmt"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// Limits are Apple Virtualization's bounds on this Mac for one VM's CPUs
// and memory (VZVirtualMachineConfiguration's minimum and maximum allowed
// values). The zero value checks nothing: off macOS there are none to ask.
type Limits struct {
	MinCPUs, MaxCPUs     uint
	MinMemory, MaxMemory uint64 // bytes
}

// checkLimits refuses a config Apple Virtualization would refuse on this
// host, naming each key and what to write instead: a guest of another
// architecture than the Mac's, too few or too many CPUs, too little or too
// much memory, or memory that is not a whole number of MiB.
func checkLimits(c *vm.Config, host hostcap.Host, l Limits) error {
	var problems []string
	if want := host.NativeArch(); c.Arch != want {
		problems = append(problems, fmt.Sprintf("arch = %q: Apple Virtualization runs only guests of this Mac's own architecture (%s); set backend = \"qemu\" to run this VM emulated", c.Arch, want))
	}
	if l.MaxCPUs > 0 {
		cpus := uint(max(c.CPUs, 0))
		switch {
		case cpus > l.MaxCPUs:
			problems = append(problems, fmt.Sprintf("cpus = %d: Apple Virtualization allows %d to %d CPUs on this Mac; set cpus to %d or fewer", c.CPUs, l.MinCPUs, l.MaxCPUs, l.MaxCPUs))
		case cpus < l.MinCPUs:
			problems = append(problems, fmt.Sprintf("cpus = %d: Apple Virtualization allows %d to %d CPUs on this Mac; set cpus to at least %d", c.CPUs, l.MinCPUs, l.MaxCPUs, l.MinCPUs))
		}
	}
	mem := uint64(c.Memory)
	if rest := mem % uint64(vm.MiB); rest != 0 {
		problems = append(problems, fmt.Sprintf("memory = %s: Apple Virtualization needs a whole number of MiB; write %s", c.Memory, vm.Size(mem-rest)))
	} else if l.MaxMemory > 0 && (mem > l.MaxMemory || mem < l.MinMemory) {
		fix := fmt.Sprintf("set memory to %s or less", vm.Size(l.MaxMemory))
		if mem < l.MinMemory {
			fix = fmt.Sprintf("set memory to at least %s", vm.Size(l.MinMemory))
		}
		problems = append(problems, fmt.Sprintf("memory = %s: Apple Virtualization allows %s to %s on this Mac; %s", c.Memory, vm.Size(l.MinMemory), vm.Size(l.MaxMemory), fix))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w: %s", c.Name, vm.ErrUnsupported, strings.Join(problems, "; "))
}
