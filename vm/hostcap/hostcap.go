// Package hostcap says what this Mac can run with Apple Virtualization, as
// data: a table of features, each with the oldest macOS that has it and
// whether it needs Apple silicon, and the sentence a person reads when the
// host falls short. The vz backend refuses a config with that sentence; the
// settings UI greys the feature out with the same sentence.
//
// It is pure Go: only reading the running macOS version is host specific.
package hostcap

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// Feature is something a VM can use that not every host offers.
type Feature string

// Features, one per row of the table.
const (
	// AppleVirtualization is the vz backend itself.
	AppleVirtualization Feature = "apple-virtualization"
	// MacOSGuest is running macOS in a VM.
	MacOSGuest Feature = "macos-guest"
	// LinuxGuest is running Linux (or another EFI OS) in a vz VM: EFI boot,
	// its display and its console ports arrived together in macOS 13.
	LinuxGuest Feature = "linux-guest"
	// USBInstallISO attaches an install ISO as a USB mass storage device.
	USBInstallISO Feature = "usb-install-iso"
	// Clipboard is clipboard sharing through the SPICE agent port.
	Clipboard Feature = "clipboard"
	// Rosetta runs x86_64 Linux programs in an arm64 Linux guest.
	Rosetta Feature = "rosetta"
	// MacOSAutomount mounts shared folders in a macOS guest by itself.
	MacOSAutomount Feature = "macos-automount"
	// RecoveryBoot starts a macOS guest in recoveryOS.
	RecoveryBoot Feature = "recovery-boot"
	// AutoResize makes the guest's display follow the window's size.
	AutoResize Feature = "display-auto-resize"
	// FixedDisplaySize keeps the guest's display at its configured size
	// while the window changes (auto_resize = false).
	FixedDisplaySize Feature = "display-fixed-size"
	// SaveRestore suspends a VM to a file and resumes it later.
	SaveRestore Feature = "save-restore"
	// NBD attaches a disk served over the network block device protocol.
	NBD Feature = "nbd"
	// NestedVirtualization lets a Linux guest run VMs itself.
	NestedVirtualization Feature = "nested-virtualization"
)

// Requirement is one row of the table.
type Requirement struct {
	Feature Feature
	// Needs opens every sentence about the feature, e.g. "Rosetta for
	// Linux needs".
	Needs string
	// MinMacOS is the oldest macOS major version with the feature.
	MinMacOS int
	// MaxMacOS, when set, is the newest macOS major version with the
	// feature, and Why says what newer ones do instead.
	MaxMacOS int
	Why      string
	// AppleSilicon is set when the feature exists only on arm64 Macs (in
	// Apple's framework or in the vz/v3 binding Vivarium uses).
	AppleSilicon bool
	// Optional features degrade instead of refusing the VM: the VM runs
	// without them and the setting shows why.
	Optional bool
	// Hint says how to run the VM on this host anyway, for a refusal.
	Hint string
}

// Table returns every feature's requirement, most fundamental first. A
// function rather than a variable so that nobody can change it at run time.
func Table() []Requirement {
	const useQEMU = "set backend = \"qemu\" to run it on this host"
	turnOff := func(key string) string {
		return fmt.Sprintf("turn off %s in the VM's settings to run it on this host", key)
	}
	return []Requirement{
		{Feature: MacOSGuest, Needs: "macOS guests need", MinMacOS: 12, AppleSilicon: true},
		{Feature: AppleVirtualization, Needs: "Apple Virtualization (backend \"vz\") needs", MinMacOS: 12, Hint: useQEMU},
		{Feature: LinuxGuest, Needs: "Linux guests with Apple Virtualization need", MinMacOS: 13, Hint: useQEMU},
		{Feature: USBInstallISO, Needs: "An install ISO attached as a USB drive needs", MinMacOS: 13, Hint: "remove boot.iso to run it on this host"},
		{Feature: Clipboard, Needs: "Clipboard sharing (SPICE agent) needs", MinMacOS: 13, Hint: turnOff("clipboard")},
		{Feature: Rosetta, Needs: "Rosetta for Linux needs", MinMacOS: 13, AppleSilicon: true, Hint: turnOff("rosetta")},
		{Feature: MacOSAutomount, Needs: "Automounted shared folders in macOS guests need", MinMacOS: 13, Hint: "give the shares a tag instead of automount to run it on this host"},
		{Feature: RecoveryBoot, Needs: "Starting a macOS guest in recovery needs", MinMacOS: 13, AppleSilicon: true},
		{Feature: AutoResize, Needs: "Display auto-resize needs", MinMacOS: 14, Optional: true},
		// vz's window turns on automaticallyReconfiguresDisplay on 14+.
		{Feature: FixedDisplaySize, Needs: "A display that keeps its size (auto_resize = false) needs", MinMacOS: 12, MaxMacOS: 13, Optional: true,
			Why: "from macOS 14 on, the VM's window always resizes the guest's display with itself"},
		{Feature: SaveRestore, Needs: "Suspending and resuming a VM needs", MinMacOS: 14, AppleSilicon: true, Hint: "stop the VM instead"},
		{Feature: NBD, Needs: "Network block device disks need", MinMacOS: 14},
		{Feature: NestedVirtualization, Needs: "Nested virtualization needs", MinMacOS: 15, AppleSilicon: true},
	}
}

// Lookup returns the requirement of f.
func Lookup(f Feature) (Requirement, bool) {
	for _, r := range Table() {
		if r.Feature == f {
			return r, true
		}
	}
	return Requirement{}, false
}

// Version is a macOS version such as 14.2.1.
type Version struct{ Major, Minor, Patch int }

// ParseVersion reads "14", "14.2" or "14.2.1".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) > 3 {
		return Version{}, fmt.Errorf("macOS version %q has more than three parts", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("macOS version %q is not like \"14.2.1\"", s)
		}
		n[i] = v
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2]}, nil
}

func (v Version) String() string {
	if v.Patch != 0 {
		return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// Host is the machine Vivarium runs on.
type Host struct {
	// OS and Arch are runtime.GOOS and runtime.GOARCH of this Vivarium.
	OS   string
	Arch string
	// Version is the macOS version; zero elsewhere or when unknown.
	Version Version
	// Translated is set when an amd64 Vivarium runs under Rosetta on an
	// Apple silicon Mac.
	Translated bool
}

// AtLeast reports whether h is a Mac running macOS major or later.
func (h Host) AtLeast(major int) bool { return h.OS == "darwin" && h.Version.Major >= major }

// AppleSilicon reports whether Vivarium runs natively on an arm64 Mac.
func (h Host) AppleSilicon() bool { return h.OS == "darwin" && h.Arch == "arm64" }

// NativeArch is the architecture of h's own guests in config terms
// ("arm64", "x86_64"): the only one Apple Virtualization runs.
func (h Host) NativeArch() string {
	if h.Arch == "arm64" {
		return vm.ArchARM64
	}
	return vm.ArchAMD64
}

func (h Host) platform() string { return h.OS + "/" + h.Arch }

// Unavailable says why h lacks f, in the sentence the settings UI shows
// beside a greyed-out setting. ok is true when h has f.
func Unavailable(h Host, f Feature) (reason string, ok bool) {
	r, known := Lookup(f)
	if !known {
		return fmt.Sprintf("Vivarium does not know the feature %q", f), false
	}
	return r.unavailable(h)
}

func (r Requirement) unavailable(h Host) (string, bool) {
	switch {
	case h.OS != "darwin" && r.AppleSilicon:
		return fmt.Sprintf("%s macOS on a Mac with Apple silicon (this is %s)", r.Needs, h.platform()), false
	case h.OS != "darwin":
		return fmt.Sprintf("%s macOS on a Mac (this is %s)", r.Needs, h.platform()), false
	case r.AppleSilicon && h.Translated:
		return fmt.Sprintf("%s Vivarium's Apple silicon build (this copy is the Intel build, running under Rosetta)", r.Needs), false
	case r.AppleSilicon && h.Arch != "arm64":
		return r.Needs + " a Mac with Apple silicon", false
	case h.Version.Major == 0:
		return fmt.Sprintf("%s macOS %d or later on this Mac (its version could not be read)", r.Needs, r.MinMacOS), false
	case h.Version.Major < r.MinMacOS:
		return fmt.Sprintf("%s macOS %d or later on this Mac (it has macOS %s)", r.Needs, r.MinMacOS, h.Version), false
	case r.MaxMacOS > 0 && h.Version.Major > r.MaxMacOS:
		return fmt.Sprintf("%s macOS %d or earlier on this Mac (it has macOS %s): %s", r.Needs, r.MaxMacOS, h.Version, r.Why), false
	}
	return "", true
}

// Needs lists the features the vz backend needs to run c, in table order.
// Optional ones are included; Check does not refuse them.
func Needs(c *vm.Config) []Feature {
	used := map[Feature]bool{AppleVirtualization: true}
	switch c.OS {
	case vm.OSMacOS:
		used[MacOSGuest] = true
	default:
		used[LinuxGuest] = true
		used[Clipboard] = c.Clipboard
	}
	used[USBInstallISO] = c.Boot.ISO != ""
	used[Rosetta] = c.Rosetta
	used[AutoResize] = c.Display.AutoResize
	for _, s := range c.Shares {
		if s.Automount {
			used[MacOSAutomount] = true
		}
	}
	var out []Feature
	for _, r := range Table() {
		if used[r.Feature] {
			out = append(out, r.Feature)
		}
	}
	return out
}

// Refusal is one feature a host lacks: its sentence and what to do.
type Refusal struct {
	Feature Feature
	Reason  string
	Hint    string
}

// UnsupportedError is a VM this host cannot run: every feature it lacks.
// It matches vm.ErrUnsupported with errors.Is.
type UnsupportedError struct{ Refusals []Refusal }

func (e *UnsupportedError) Error() string {
	msgs := make([]string, len(e.Refusals))
	for i, r := range e.Refusals {
		msgs[i] = r.Reason
		if r.Hint != "" {
			msgs[i] += ": " + r.Hint
		}
	}
	return strings.Join(msgs, "; ")
}

// Unwrap makes errors.Is(err, vm.ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return vm.ErrUnsupported }

// Check refuses c when h lacks a feature c needs, with a sentence naming
// each feature and what it needs. Optional features never refuse.
func Check(h Host, c *vm.Config) error {
	return CheckFeatures(h, Needs(c)...)
}

// CheckFeatures refuses when h lacks any of the non-optional features fs.
// Off a Mac only the first refusal is given: the rest would all say the
// same thing.
func CheckFeatures(h Host, fs ...Feature) error {
	var refusals []Refusal
	for _, f := range fs {
		r, known := Lookup(f)
		if !known {
			refusals = append(refusals, Refusal{Feature: f, Reason: fmt.Sprintf("Vivarium does not know the feature %q", f)})
			continue
		}
		if r.Optional {
			continue
		}
		if reason, ok := r.unavailable(h); !ok {
			refusals = append(refusals, Refusal{Feature: f, Reason: reason, Hint: r.Hint})
			if h.OS != "darwin" {
				break
			}
		}
	}
	if len(refusals) == 0 {
		return nil
	}
	return &UnsupportedError{Refusals: refusals}
}

// MaxMacOSGuests is how many macOS VMs Apple lets one Mac run at once.
const MaxMacOSGuests = 2

// ErrMacOSGuestLimit is the refusal to start a third macOS guest. It also
// matches vm.ErrUnsupported.
var ErrMacOSGuestLimit error = guestLimitError{}

type guestLimitError struct{}

func (guestLimitError) Error() string {
	return "Apple lets a Mac run at most two macOS VMs at once"
}

func (guestLimitError) Unwrap() error { return vm.ErrUnsupported }

// CheckMacOSGuestLimit refuses to start another macOS guest when running
// macOS guests already run. Call it before touching anything for the start.
func CheckMacOSGuestLimit(running int) error {
	if running < MaxMacOSGuests {
		return nil
	}
	return fmt.Errorf("%w, and %d are running: stop one of them, then start this one", ErrMacOSGuestLimit, running)
}
