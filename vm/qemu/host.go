package qemu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// DetectHost finds the facts Args needs about this machine for c: the
// accelerator (see ChooseAccel; the choice says why when it is not the
// fastest) and the sound backend.
func DetectHost(c *vm.Config) (Host, AccelChoice, error) {
	choice, err := ChooseAccel(c.Accel, c.Arch, DetectHostProbe())
	if err != nil {
		return Host{}, AccelChoice{}, err
	}
	return Host{
		OS:          runtime.GOOS,
		Arch:        vm.HostArch(),
		Accel:       choice.Accel,
		AudioDriver: detectAudio(runtime.GOOS, os.Getenv),
		Viewer:      DetectViewer(runtime.GOOS, exec.LookPath),
	}, choice, nil
}

// ViewerProgram is the SPICE client that is a QEMU VM's window on Linux
// (from virt-viewer, as virt-manager and GNOME Boxes use).
const ViewerProgram = "remote-viewer"

// DetectViewer picks what shows a QEMU VM's screen on goos: on Linux the
// SPICE client when it is installed, since Debian's QEMU GTK window shares
// no clipboard; on macOS QEMU's Cocoa window.
func DetectViewer(goos string, lookPath func(string) (string, error)) string {
	if goos == "linux" {
		if _, err := lookPath(ViewerProgram); err == nil {
			return ViewerSPICE
		}
	}
	return ViewerQEMU
}

// ClipboardUnavailable says why a QEMU VM's window on goos with viewer
// cannot share the clipboard, or "" when it can.
func ClipboardUnavailable(goos, viewer string) string {
	if goos == "linux" && viewer != ViewerSPICE {
		return "Sharing the clipboard with a QEMU VM on Linux needs the SPICE viewer " + ViewerProgram +
			" (Debian/Ubuntu: apt-get install virt-viewer); QEMU's own window shares none"
	}
	return ""
}

// detectAudio picks QEMU's sound backend: Core Audio on macOS; on Linux
// PulseAudio (PipeWire serves it too) when its socket is there. Anything
// else gets no sound rather than a VM that fails to start.
func detectAudio(goos string, getenv func(string) string) string {
	switch goos {
	case "darwin":
		return "coreaudio"
	case "linux":
		if getenv("PULSE_SERVER") != "" {
			return "pa"
		}
		if rt := getenv("XDG_RUNTIME_DIR"); rt != "" {
			if _, err := os.Stat(filepath.Join(rt, "pulse", "native")); err == nil {
				return "pa"
			}
		}
	}
	return ""
}

// SystemBinary is the name of the QEMU program that runs guests of arch.
func SystemBinary(arch string) string {
	if arch == vm.ArchARM64 {
		return "qemu-system-aarch64"
	}
	return "qemu-system-x86_64"
}

// findProgram finds the QEMU program name. An override (from the
// preferences) is a directory holding it, or a QEMU program whose sibling
// of that name is used when there is one, else the override itself.
// Without one, PATH and the usual install places are searched.
func findProgram(override, name string) (string, error) {
	if override != "" {
		fi, err := os.Stat(override)
		switch {
		case err != nil:
			return "", fmt.Errorf("%w: the QEMU path %s from the preferences: %w; fix it or clear it to search PATH", ErrNoQEMU, override, err)
		case fi.IsDir():
			p := filepath.Join(override, name)
			if isRegular(p) {
				return p, nil
			}
			return "", fmt.Errorf("%w: no %s in %s, the QEMU folder from the preferences; fix it or clear it to search PATH", ErrNoQEMU, name, override)
		default:
			if filepath.Base(override) != name {
				// A qemu-system-x86_64 chosen by hand: look for its siblings.
				if p := filepath.Join(filepath.Dir(override), name); isRegular(p) {
					return p, nil
				}
			}
			return override, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	// Apps started from the macOS Dock get no shell PATH, so Homebrew's and
	// MacPorts' programs are not in it.
	extraBinDirs := []string{"/opt/homebrew/bin", "/usr/local/bin", "/opt/local/bin"}
	for _, d := range extraBinDirs {
		if p := filepath.Join(d, name); isRegular(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s is not in PATH nor in %s; install QEMU (Debian/Ubuntu: apt-get install %s; macOS: brew install qemu) or set its path in the preferences",
		ErrNoQEMU, name, strings.Join(extraBinDirs, ", "), debianPackage(name))
}

// debianPackage is the package that ships a QEMU program.
func debianPackage(program string) string {
	switch program {
	case "qemu-img":
		return "qemu-utils"
	case "qemu-system-aarch64":
		return "qemu-system-arm"
	}
	return "qemu-system-x86"
}
