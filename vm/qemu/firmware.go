package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// Firmware is a UEFI build for QEMU: the read-only code and the template of
// the variable store each VM gets its own copy of.
type Firmware struct {
	Code string
	Vars string
}

// firmwarePairs are the (code, vars) file pairs distributions ship for
// arch, best first. A name may include a subdirectory of a search directory.
func firmwarePairs(arch string) [][2]string {
	switch arch {
	case vm.ArchAMD64:
		return [][2]string{
			{"OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"},         // Debian, Ubuntu
			{"OVMF_CODE.fd", "OVMF_VARS.fd"},               // Debian (2M), Fedora
			{"x64/OVMF_CODE.4m.fd", "x64/OVMF_VARS.4m.fd"}, // Arch
			{"edk2-x86_64-code.fd", "edk2-i386-vars.fd"},   // QEMU's own, Homebrew
		}
	case vm.ArchARM64:
		return [][2]string{
			{"AAVMF_CODE.fd", "AAVMF_VARS.fd"},                  // Debian, Ubuntu
			{"QEMU_EFI-pflash.raw", "vars-template-pflash.raw"}, // Fedora
			{"aarch64/QEMU_CODE.fd", "aarch64/QEMU_VARS.fd"},    // Arch
			{"edk2-aarch64-code.fd", "edk2-arm-vars.fd"},        // QEMU's own, Homebrew
		}
	}
	return nil
}

// DefaultFirmwareDirs are the places FindFirmware looks: QEMU's own data
// directory next to qemuBinary (<prefix>/bin → <prefix>/share/qemu) when it
// is given, then where Linux distributions, Homebrew and MacPorts put it.
func DefaultFirmwareDirs(qemuBinary string) []string {
	var dirs []string
	if qemuBinary != "" {
		prefix := filepath.Dir(filepath.Dir(qemuBinary))
		dirs = append(dirs, filepath.Join(prefix, "share", "qemu"))
	}
	for _, d := range []string{
		"/usr/share/OVMF", "/usr/share/AAVMF", "/usr/share/qemu",
		"/usr/share/edk2/ovmf", "/usr/share/edk2/aarch64", "/usr/share/edk2",
		"/opt/homebrew/share/qemu", "/usr/local/share/qemu", "/opt/local/share/qemu",
	} {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// FindFirmware returns the first UEFI firmware for arch found in dirs,
// searched in order. The error wraps ErrNoFirmware and says what was looked
// for, where, and what to install.
func FindFirmware(arch string, dirs []string) (Firmware, error) {
	pairs := firmwarePairs(arch)
	if pairs == nil {
		return Firmware{}, fmt.Errorf("UEFI firmware for arch %q: %w", arch, vm.ErrUnsupported)
	}
	for _, dir := range dirs {
		for _, p := range pairs {
			fw := Firmware{Code: filepath.Join(dir, p[0]), Vars: filepath.Join(dir, p[1])}
			if isRegular(fw.Code) && isRegular(fw.Vars) {
				return fw, nil
			}
		}
	}
	names := make([]string, len(pairs))
	for i, p := range pairs {
		names[i] = p[0] + " + " + p[1]
	}
	pkg := "ovmf"
	if arch == vm.ArchARM64 {
		pkg = "qemu-efi-aarch64"
	}
	return Firmware{}, fmt.Errorf("%w for %s guests: looked for %s in %s; install %s (Debian/Ubuntu: apt-get install %s; macOS: brew install qemu) or boot a kernel (boot.mode = \"linux\")",
		ErrNoFirmware, arch, strings.Join(names, " or "), strings.Join(dirs, ", "), pkg, pkg)
}

// EnsureEFIVars gives a VM its own variable store on its first EFI start:
// a copy of the firmware's template at path. An existing store is kept.
func EnsureEFIVars(path string, fw Firmware) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("EFI variable store %s: %w", path, err)
	}
	// A template is at most a few MiB (64 for AAVMF): one atomic write.
	data, err := os.ReadFile(fw.Vars)
	if err != nil {
		return fmt.Errorf("EFI variable template: %w", err)
	}
	if err := vm.WriteFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("EFI variable store: %w", err)
	}
	return nil
}

func isRegular(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
