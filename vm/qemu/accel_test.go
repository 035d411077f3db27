package qemu

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

func TestChooseAccel(t *testing.T) {
	linuxKVM := HostProbe{OS: "linux", Arch: vm.ArchAMD64, KVMOpens: true}
	pvm := HostProbe{OS: "linux", Arch: vm.ArchAMD64, KVMOpens: true, KVMPVM: true}
	noKVM := HostProbe{OS: "linux", Arch: vm.ArchAMD64, KVMError: fs.ErrNotExist}
	denied := HostProbe{OS: "linux", Arch: vm.ArchAMD64, KVMError: fs.ErrPermission}
	mac := HostProbe{OS: "darwin", Arch: vm.ArchARM64}
	withEnv := func(p HostProbe, env string) HostProbe { p.Env = env; return p }
	tests := []struct {
		name      string
		setting   string
		guestArch string
		probe     HostProbe
		want      string
		reason    string // part of the reason; "" means no reason
		errPart   string
	}{
		{"auto with working kvm", "auto", vm.ArchAMD64, linuxKVM, AccelKVM, "", ""},
		{"empty is auto", "", vm.ArchAMD64, linuxKVM, AccelKVM, "", ""},
		{"auto never picks kvm_pvm", "auto", vm.ArchAMD64, pvm, AccelTCG, "kvm_pvm", ""},
		{"auto without /dev/kvm", "auto", vm.ArchAMD64, noKVM, AccelTCG, "no /dev/kvm", ""},
		{"auto with /dev/kvm not allowed", "auto", vm.ArchAMD64, denied, AccelTCG, "kvm group", ""},
		{"auto for another arch", "auto", vm.ArchARM64, linuxKVM, AccelTCG, "cannot use the hardware", ""},
		{"auto on a Mac", "auto", vm.ArchARM64, mac, AccelHVF, "", ""},
		{"x86 guest on a Mac", "auto", vm.ArchAMD64, mac, AccelTCG, "arm64 host", ""},
		{"tcg asked", "tcg", vm.ArchAMD64, linuxKVM, AccelTCG, "", ""},
		{"kvm forced on kvm_pvm", "kvm", vm.ArchAMD64, pvm, AccelKVM, "", ""},
		{"kvm without /dev/kvm", "kvm", vm.ArchAMD64, noKVM, "", "", `use "tcg"`},
		{"kvm on a Mac", "kvm", vm.ArchARM64, mac, "", "", "only on Linux"},
		{"hvf on Linux", "hvf", vm.ArchAMD64, linuxKVM, "", "", "only on macOS"},
		{"env overrides the VM", "kvm", vm.ArchAMD64, withEnv(pvm, "tcg"), AccelTCG, "VIVARIUM_QEMU_ACCEL=tcg", ""},
		{"env auto overrides kvm", "kvm", vm.ArchAMD64, withEnv(pvm, "auto"), AccelTCG, "kvm_pvm", ""},
		{"env nonsense", "auto", vm.ArchAMD64, withEnv(linuxKVM, "fast"), "", "", "VIVARIUM_QEMU_ACCEL=fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseAccel(tt.setting, tt.guestArch, tt.probe)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want one saying %q", err, tt.errPart)
				}
				if !errors.Is(err, vm.ErrUnsupported) && !errors.Is(err, vm.ErrInvalidConfig) {
					t.Errorf("err %v is neither unsupported nor invalid config", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Accel != tt.want {
				t.Errorf("accel = %q, want %q", got.Accel, tt.want)
			}
			if tt.reason == "" && got.Reason != "" && tt.setting != "tcg" {
				t.Errorf("reason %q, want none", got.Reason)
			}
			if tt.reason != "" && !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("reason %q, want it to say %q", got.Reason, tt.reason)
			}
		})
	}
}
