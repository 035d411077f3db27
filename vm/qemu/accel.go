package qemu

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// AccelEnv overrides every VM's accelerator on this host: what a person with
// a broken or nested KVM sets once.
const AccelEnv = "VIVARIUM_QEMU_ACCEL"

// AccelAuto lets Vivarium choose: KVM or HVF where they run ordinary guests
// of the host's architecture, else TCG.
const AccelAuto = vm.AccelAuto

// HostProbe is what ChooseAccel looks at; DetectHostProbe fills it from this
// machine, tests write it out.
type HostProbe struct {
	OS, Arch string
	// KVMOpens: /dev/kvm opens for reading and writing.
	KVMOpens bool
	// KVMError is why it does not, for a sentence.
	KVMError error
	// KVMPVM: the KVM module is kvm_pvm (/sys/module/kvm_pvm), which runs
	// only kernels built for PVM; a stock guest hangs or dies with "KVM
	// internal error".
	KVMPVM bool
	// Env is the value of VIVARIUM_QEMU_ACCEL.
	Env string
}

// DetectHostProbe reads this machine's facts for ChooseAccel.
func DetectHostProbe() HostProbe {
	p := HostProbe{OS: runtime.GOOS, Arch: vm.HostArch(), Env: os.Getenv(AccelEnv)}
	if p.OS == "linux" {
		f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
		if err == nil {
			f.Close()
			p.KVMOpens = true
		} else {
			p.KVMError = err
		}
		if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
			p.KVMPVM = true
		}
	}
	return p
}

// AccelChoice is the accelerator a VM runs with and, when Vivarium did not
// take the obvious one, why.
type AccelChoice struct {
	Accel string
	// Reason says why Accel was chosen over a faster one (or where the
	// choice came from), for runner.log and the settings editor; empty when
	// nothing needs saying.
	Reason string
}

// ChooseAccel picks the accelerator for a guest of guestArch from the VM's
// setting (auto, kvm, hvf, tcg; empty means auto), the host override
// VIVARIUM_QEMU_ACCEL, and what the host has. A named accelerator the host
// cannot provide at all is an error that says what to set instead.
func ChooseAccel(setting, guestArch string, p HostProbe) (AccelChoice, error) {
	want, from := strings.ToLower(strings.TrimSpace(setting)), "the VM's accel setting"
	if env := strings.ToLower(strings.TrimSpace(p.Env)); env != "" {
		want, from = env, AccelEnv+"="+p.Env
	}
	if want == "" {
		want = AccelAuto
	}
	switch want {
	case AccelTCG:
		r := ""
		if from != "the VM's accel setting" {
			r = "TCG (emulation), as " + from + " asks"
		}
		return AccelChoice{Accel: AccelTCG, Reason: r}, nil
	case AccelKVM:
		if p.OS != "linux" {
			return AccelChoice{}, fmt.Errorf("%w: accelerator kvm (%s) exists only on Linux hosts; use %q", vm.ErrUnsupported, from, AccelAuto)
		}
		if guestArch != p.Arch {
			return AccelChoice{}, fmt.Errorf("%w: accelerator kvm (%s) runs only %s guests on this host, and this VM is %s; use %q or %q", vm.ErrUnsupported, from, p.Arch, guestArch, AccelAuto, AccelTCG)
		}
		if !p.KVMOpens {
			return AccelChoice{}, fmt.Errorf("%w: accelerator kvm (%s): /dev/kvm cannot be used: %v; use %q (emulation) or give your user access to /dev/kvm", vm.ErrUnsupported, from, p.KVMError, AccelTCG)
		}
		return AccelChoice{Accel: AccelKVM}, nil
	case AccelHVF:
		if p.OS != "darwin" {
			return AccelChoice{}, fmt.Errorf("%w: accelerator hvf (%s) exists only on macOS hosts; use %q", vm.ErrUnsupported, from, AccelAuto)
		}
		if guestArch != p.Arch {
			return AccelChoice{}, fmt.Errorf("%w: accelerator hvf (%s) runs only %s guests on this Mac, and this VM is %s; use %q or %q", vm.ErrUnsupported, from, p.Arch, guestArch, AccelAuto, AccelTCG)
		}
		return AccelChoice{Accel: AccelHVF}, nil
	case AccelAuto:
	default:
		return AccelChoice{}, fmt.Errorf("%w: accelerator %q (%s): use %q, %q, %q or %q", vm.ErrInvalidConfig, want, from, AccelAuto, AccelKVM, AccelHVF, AccelTCG)
	}
	if guestArch != p.Arch {
		return AccelChoice{Accel: AccelTCG, Reason: fmt.Sprintf("TCG (emulation): a %s guest on a %s host cannot use the hardware accelerator", guestArch, p.Arch)}, nil
	}
	switch p.OS {
	case "darwin":
		return AccelChoice{Accel: AccelHVF}, nil
	case "linux":
		switch {
		case p.KVMPVM:
			return AccelChoice{Accel: AccelTCG, Reason: "TCG (emulation): this host's /dev/kvm is kvm_pvm, which runs only guest kernels built for PVM, so an ordinary guest would hang; set accel = \"kvm\" to use it anyway"}, nil
		case p.KVMOpens:
			return AccelChoice{Accel: AccelKVM}, nil
		case p.KVMError != nil && !os.IsNotExist(p.KVMError):
			return AccelChoice{Accel: AccelTCG, Reason: fmt.Sprintf("TCG (emulation): /dev/kvm cannot be used (%v); give your user access to it (the kvm group) for full speed", p.KVMError)}, nil
		}
		return AccelChoice{Accel: AccelTCG, Reason: "TCG (emulation): this host has no /dev/kvm"}, nil
	}
	return AccelChoice{Accel: AccelTCG, Reason: "TCG (emulation): no hardware accelerator on " + p.OS}, nil
}
