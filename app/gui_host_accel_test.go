package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

// TestSettingsHintSaysWhichAcceleratorAVMGets: the settings editor's hint
// for the accelerator is the qemu backend's own sentence.
func TestSettingsHintSaysWhichAcceleratorAVMGets(t *testing.T) {
	pvm := qemu.HostProbe{OS: "linux", Arch: vm.ArchAMD64, KVMOpens: true, KVMPVM: true}
	kvm := qemu.HostProbe{OS: "linux", Arch: vm.ArchAMD64, KVMOpens: true}
	none := qemu.HostProbe{OS: "linux", Arch: vm.ArchAMD64, KVMError: &os.PathError{Op: "open", Path: "/dev/kvm", Err: errors.New("no such file or directory")}}
	with := func(backend, accel string) *vm.Config {
		c := vm.NewConfig("q", vm.OSLinux)
		c.Backend, c.Arch, c.Accel = backend, vm.ArchAMD64, accel
		return c
	}
	tests := []struct {
		name  string
		probe qemu.HostProbe
		c     *vm.Config
		says  string // "" means no hint beyond the field's own
	}{
		{"auto on kvm_pvm", pvm, with(vm.BackendQEMU, vm.AccelAuto), "This VM will run with TCG (emulation): this host's /dev/kvm is kvm_pvm"},
		{"auto where KVM works", kvm, with(vm.BackendQEMU, vm.AccelAuto), ""},
		{"tcg chosen", pvm, with(vm.BackendQEMU, vm.AccelTCG), ""},
		{"hvf on Linux", kvm, with(vm.BackendQEMU, vm.AccelHVF), "accelerator hvf (the VM's accel setting) exists only on macOS hosts"},
		{"kvm without /dev/kvm", none, with(vm.BackendQEMU, vm.AccelKVM), "/dev/kvm cannot be used"},
		{"a vz VM", pvm, with(vm.BackendVZ, vm.AccelAuto), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := guiHost{accel: tt.probe}.Unavailable(tt.c, ui.FeatureAccel)
			if (tt.says == "") != (got == "") || !strings.Contains(got, tt.says) {
				t.Errorf("hint = %q, want %q", got, tt.says)
			}
		})
	}
}
