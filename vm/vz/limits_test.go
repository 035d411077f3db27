package vz

import (
	"errors"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

// Apple's limits are checked before anything starts, each with a sentence
// that names the key and what to write instead.
func TestCheckRefusesWhatAppleVirtualizationWouldNot(t *testing.T) {
	m1 := Limits{MinCPUs: 1, MaxCPUs: 8, MinMemory: 128 * uint64(vm.MiB), MaxMemory: 12 * uint64(vm.GiB)}
	tests := []struct {
		name   string
		host   func() *Backend
		change func(*vm.Config)
		want   string // "" when Check passes
	}{
		{name: "arm64 linux within limits", change: func(*vm.Config) {}},
		{name: "x86_64 linux on apple silicon", change: func(c *vm.Config) { c.Arch = vm.ArchAMD64 },
			want: `desk: not supported on this host: arch = "x86_64": Apple Virtualization runs only guests of this Mac's own architecture (arm64); set backend = "qemu" to run this VM emulated`},
		{name: "arm64 linux on an intel mac", host: func() *Backend { return &Backend{host: intel, limits: m1} },
			change: func(c *vm.Config) { c.Rosetta = false },
			want:   `desk: not supported on this host: arch = "arm64": Apple Virtualization runs only guests of this Mac's own architecture (x86_64); set backend = "qemu" to run this VM emulated`},
		{name: "too many cpus", change: func(c *vm.Config) { c.CPUs = 64 },
			want: "desk: not supported on this host: cpus = 64: Apple Virtualization allows 1 to 8 CPUs on this Mac; set cpus to 8 or fewer"},
		{name: "too much memory", change: func(c *vm.Config) { c.Memory = 64 * vm.GiB },
			want: "desk: not supported on this host: memory = 64GiB: Apple Virtualization allows 128MiB to 12GiB on this Mac; set memory to 12GiB or less"},
		{name: "too little memory", change: func(c *vm.Config) { c.Memory = 64 * vm.MiB },
			want: "desk: not supported on this host: memory = 64MiB: Apple Virtualization allows 128MiB to 12GiB on this Mac; set memory to at least 128MiB"},
		{name: "memory not whole MiB", change: func(c *vm.Config) { c.Memory = 2*vm.GiB + 512*vm.KiB },
			want: "desk: not supported on this host: memory = 2097664KiB: Apple Virtualization needs a whole number of MiB; write 2GiB"},
		{name: "everything at once", change: func(c *vm.Config) { c.Arch, c.CPUs, c.Memory = vm.ArchAMD64, 9, 13*vm.GiB },
			want: `desk: not supported on this host: arch = "x86_64": Apple Virtualization runs only guests of this Mac's own architecture (arm64); set backend = "qemu" to run this VM emulated; ` +
				"cpus = 9: Apple Virtualization allows 1 to 8 CPUs on this Mac; set cpus to 8 or fewer; " +
				"memory = 13GiB: Apple Virtualization allows 128MiB to 12GiB on this Mac; set memory to 12GiB or less"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &Backend{host: sonoma, limits: m1}
			if tt.host != nil {
				b = tt.host()
			}
			c := linuxDesktop().Config
			tt.change(c)
			err := b.Check(c)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Check =\n  %v\nwant\n  %s", err, tt.want)
			}
			if !errors.Is(err, vm.ErrUnsupported) {
				t.Errorf("error %v does not match vm.ErrUnsupported", err)
			}
		})
	}
}
