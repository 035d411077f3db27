package vz

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// MachinePlan is everything the darwin layer builds for one run: the
// devices in pipeline order, how to start, and the window.
type MachinePlan struct {
	CPUs    uint
	Memory  uint64 // bytes
	Devices []Device
	// Recovery starts a macOS guest in recoveryOS.
	Recovery bool
	// Restore is a saved state to resume from instead of booting.
	Restore string
	Window  Window
	// Notes are sentences for runner.log and the UI: what this run does
	// differently from what the config asked, and why.
	Notes []string
}

// Window is the display window of a run that has one.
type Window struct {
	Title string
	// Width and Height are in points: the display's pixels over its scale.
	Width, Height float64
	// GuestOS picks the Dock icon.
	GuestOS string
}

// Device is one planned device. The darwin layer turns each kind into vz
// objects with one type switch.
type Device interface {
	// Stage names the pipeline stage, for error messages ("disk disk-0.img").
	Stage() string
}

// GenericPlatform is the platform of Linux and other guests. The machine
// identifier is persisted so the guest sees the same machine every boot.
type GenericPlatform struct{ MachineIDPath string }

// MacPlatform is the platform of macOS guests.
type MacPlatform struct {
	HardwareModelPath string
	MachineIDPath     string
	AuxStoragePath    string
}

// EFIBoot boots from EFI with a persistent variable store, created when
// missing.
type EFIBoot struct{ VariableStorePath string }

// LinuxBoot boots a Linux kernel directly.
type LinuxBoot struct{ Kernel, Initrd, Cmdline string }

// MacOSBoot boots macOS from the VM's disk.
type MacOSBoot struct{}

// Bus is how a disk is attached.
type Bus string

const (
	BusVirtio Bus = "virtio"
	BusUSB    Bus = "usb"
)

// CacheMode mirrors VZDiskImageCachingMode.
type CacheMode string

const (
	CacheAutomatic CacheMode = "automatic"
	CacheCached    CacheMode = "cached"
)

// SyncMode mirrors VZDiskImageSynchronizationMode.
type SyncMode string

const (
	SyncFull  SyncMode = "full"
	SyncFsync SyncMode = "fsync"
	SyncNone  SyncMode = "none"
)

// Disk is a raw disk image attached to the VM.
type Disk struct {
	Name     string // what a person calls it: "disk-0.img", "install ISO"
	Path     string
	ReadOnly bool
	Bus      Bus
	Cache    CacheMode
	Sync     SyncMode
}

// Network is the VM's network interface.
type Network struct {
	Mode      string // vm.NetNAT or vm.NetBridged
	Interface string // host interface to bridge, e.g. "en0"
	MAC       string
}

// VirtioGPU is the display of Linux guests: one scanout.
type VirtioGPU struct{ Width, Height int }

// MacDisplay is the display of macOS guests.
type MacDisplay struct{ Width, Height, PPI int }

// KeyboardKind says which keyboard the guest gets.
type KeyboardKind string

const (
	KeyboardUSB KeyboardKind = "usb"
	KeyboardMac KeyboardKind = "mac" // VZMacKeyboardConfiguration, macOS 14+ hosts and guests
)

// Keyboard is a keyboard. A macOS guest on a macOS 14+ host gets the Mac
// keyboard and then the USB keyboard: guests older than macOS 14 ignore
// the Mac keyboard and use the next one.
type Keyboard struct{ Kind KeyboardKind }

// PointerKind says which pointing device the guest gets.
type PointerKind string

const (
	PointerUSB      PointerKind = "usb-screen-coordinate"
	PointerTrackpad PointerKind = "mac-trackpad" // VZMacTrackpadConfiguration, macOS 13+
)

// Pointer is a pointing device. A macOS guest gets the trackpad and then
// the USB pointer: guests older than macOS 13 ignore the trackpad and use
// the next one, as Apple's documentation advises.
type Pointer struct{ Kind PointerKind }

// Audio is a virtio sound device with an output stream.
type Audio struct{}

// Entropy is a virtio entropy device.
type Entropy struct{}

// MemoryBalloon is a virtio traditional memory balloon.
type MemoryBalloon struct{}

// SharedDir is one host folder in a share.
type SharedDir struct {
	Name     string // its name in the guest, for multi-folder shares
	Path     string
	ReadOnly bool
}

// Share is one virtiofs device: a single folder under Tag, or, for macOS
// guests with Automount, every automount folder under Apple's automount
// tag (they appear in /Volumes/My Shared Files).
type Share struct {
	Tag       string // empty when Automount
	Automount bool
	Dirs      []SharedDir
}

// Clipboard is the SPICE agent console port with clipboard sharing.
type Clipboard struct{}

// Rosetta is the Rosetta for Linux directory share.
type Rosetta struct{ Tag string }

// SerialConsole sends the guest's first virtio console (hvc0) to the run's
// console writer.
type SerialConsole struct{}

func (GenericPlatform) Stage() string { return "platform" }
func (MacPlatform) Stage() string     { return "Mac platform" }
func (EFIBoot) Stage() string         { return "EFI boot loader" }
func (LinuxBoot) Stage() string       { return "Linux boot loader" }
func (MacOSBoot) Stage() string       { return "macOS boot loader" }
func (d Disk) Stage() string          { return "disk " + d.Name }
func (Network) Stage() string         { return "network" }
func (VirtioGPU) Stage() string       { return "display" }
func (MacDisplay) Stage() string      { return "display" }
func (Keyboard) Stage() string        { return "keyboard" }
func (Pointer) Stage() string         { return "pointing device" }
func (Audio) Stage() string           { return "audio" }
func (Entropy) Stage() string         { return "entropy device" }
func (MemoryBalloon) Stage() string   { return "memory balloon" }
func (s Share) Stage() string {
	if s.Automount {
		return "automount share"
	}
	return "share " + s.Tag
}
func (Clipboard) Stage() string     { return "clipboard" }
func (Rosetta) Stage() string       { return "Rosetta" }
func (SerialConsole) Stage() string { return "serial console" }

// Plan maps a run to the devices the vz pipeline builds, in order:
// platform, boot loader, disks, network, display, keyboard and pointing,
// audio, entropy, balloon, shares, clipboard, Rosetta, serial console. It
// refuses, with hostcap's sentences, what the host cannot do.
func Plan(spec *vm.RunSpec, host hostcap.Host) (*MachinePlan, error) {
	c := spec.Config
	if c == nil {
		return nil, errors.New("planning the VM: the run has no config")
	}
	if c.Backend != vm.BackendVZ {
		return nil, fmt.Errorf("%s: backend is %q, not \"vz\"", c.Name, c.Backend)
	}
	if len(spec.Disks) != len(c.Disks) {
		return nil, fmt.Errorf("%s: the run has %d disk paths for %d disks in the config", c.Name, len(spec.Disks), len(c.Disks))
	}
	if err := checkRun(spec, host); err != nil {
		return nil, err
	}
	p := &MachinePlan{
		CPUs:     uint(c.CPUs),
		Memory:   uint64(c.Memory),
		Recovery: spec.Recovery,
		Restore:  spec.Restore,
		Window:   window(c),
	}
	macOS := c.OS == vm.OSMacOS
	b := spec.Bundle

	// Platform and boot loader.
	switch {
	case macOS:
		p.add(MacPlatform{HardwareModelPath: b.HardwareModelPath(), MachineIDPath: b.MachineIDPath(), AuxStoragePath: orDefault(spec.AuxStorage, b.AuxPath())})
		p.add(MacOSBoot{})
	default:
		p.add(GenericPlatform{MachineIDPath: b.MachineIDPath()})
		switch c.Boot.Mode {
		case vm.BootLinux:
			p.add(LinuxBoot{Kernel: c.Boot.Kernel, Initrd: c.Boot.Initrd, Cmdline: c.Boot.Cmdline})
		default:
			p.add(EFIBoot{VariableStorePath: orDefault(spec.EFIVars, b.EFIVarsPath())})
		}
	}

	// Disks, then the install ISO: EFI tries them in order, so an installed
	// disk boots before the installer.
	cache, sync := CacheCached, SyncFsync // Linux guests corrupt ext4/btrfs with the automatic (uncached) mode
	if macOS {
		cache, sync = CacheAutomatic, SyncFull
	}
	if spec.Disposable {
		sync = SyncNone // a throw-away disk needs no flush to survive a host crash
	}
	for i, d := range c.Disks {
		p.add(Disk{Name: d.File, Path: spec.Disks[i], ReadOnly: d.ReadOnly, Bus: BusVirtio, Cache: cache, Sync: sync})
	}
	if c.Boot.ISO != "" {
		p.add(Disk{Name: "install ISO " + filepath.Base(c.Boot.ISO), Path: c.Boot.ISO, ReadOnly: true, Bus: BusUSB, Cache: CacheCached, Sync: SyncNone})
	}
	if spec.Seed != "" {
		// The guest's cloud-init finds the seed by its label ("cidata").
		p.add(Disk{Name: "cloud-init seed", Path: spec.Seed, ReadOnly: true, Bus: BusVirtio, Cache: CacheCached, Sync: SyncNone})
	}

	switch c.Network.Mode {
	case vm.NetNAT:
		p.add(Network{Mode: vm.NetNAT, MAC: c.Network.MAC})
	case vm.NetBridged:
		p.add(Network{Mode: vm.NetBridged, Interface: c.Network.Interface, MAC: c.Network.MAC})
		p.note(bridgeNote(c.Network.Interface))
	}

	// Display and input.
	if macOS {
		p.add(MacDisplay{Width: c.Display.Width, Height: c.Display.Height, PPI: c.Display.PPI})
		// Guests before macOS 14 do not recognise the Mac keyboard: they
		// use the USB keyboard after it, as Apple's documentation advises.
		if host.AtLeast(14) {
			p.add(Keyboard{Kind: KeyboardMac})
		}
		p.add(Keyboard{Kind: KeyboardUSB})
		if host.AtLeast(13) {
			p.add(Pointer{Kind: PointerTrackpad})
		}
		p.add(Pointer{Kind: PointerUSB})
	} else {
		p.add(VirtioGPU{Width: c.Display.Width, Height: c.Display.Height})
		p.add(Keyboard{Kind: KeyboardUSB})
		p.add(Pointer{Kind: PointerUSB})
	}
	if c.Display.AutoResize {
		if reason, ok := hostcap.Unavailable(host, hostcap.AutoResize); !ok {
			p.note(reason + ": the display keeps its configured size")
		}
	} else if reason, ok := hostcap.Unavailable(host, hostcap.FixedDisplaySize); !ok && !spec.Headless {
		p.note(reason)
	}

	if c.Audio {
		p.add(Audio{})
	}
	p.add(Entropy{})
	p.add(MemoryBalloon{})

	for _, s := range planShares(c) {
		p.add(s)
	}
	if c.Clipboard {
		if macOS {
			p.note("Clipboard sharing works with Linux guests running spice-vdagent; macOS guests don't support it, so it is off")
		} else {
			p.add(Clipboard{})
		}
	}
	if c.Rosetta {
		p.add(Rosetta{Tag: vm.RosettaTag})
	}
	if spec.Console != nil {
		p.add(SerialConsole{})
	}
	return p, nil
}

func (p *MachinePlan) add(d Device)  { p.Devices = append(p.Devices, d) }
func (p *MachinePlan) note(s string) { p.Notes = append(p.Notes, s) }

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// checkRun refuses what this host or this kind of run cannot do, before
// anything is built.
func checkRun(spec *vm.RunSpec, host hostcap.Host) error {
	c := spec.Config
	features := hostcap.Needs(c)
	if spec.Recovery {
		if c.OS != vm.OSMacOS {
			return fmt.Errorf("%s: %w: recovery boot is for macOS guests; this is a %s guest", c.Name, vm.ErrUnsupported, c.OS)
		}
		features = append(features, hostcap.RecoveryBoot)
	}
	if spec.Restore != "" {
		if spec.Recovery {
			return fmt.Errorf("%s: %w: the VM is suspended, and starting it in recovery would throw its saved state away; start it normally and shut macOS down first, or delete %s (what was open in the guest is lost)", c.Name, vm.ErrUnsupported, filepath.Base(spec.Restore))
		}
		if spec.Disposable {
			return fmt.Errorf("%s: %w: a disposable run cannot resume a saved state; start it normally or turn off disposable", c.Name, vm.ErrUnsupported)
		}
		features = append(features, hostcap.SaveRestore)
	}
	return hostcap.CheckFeatures(host, features...)
}

// bridgeNote explains the entitlement bridged networking needs.
func bridgeNote(iface string) string {
	return "Bridged networking on " + iface + " needs Vivarium to be signed with Apple's restricted " +
		"com.apple.vm.networking entitlement; without it the VM does not start — use NAT instead"
}

// planShares makes one virtiofs device per tagged share and, for macOS
// guests, one more holding every automount folder.
func planShares(c *vm.Config) []Share {
	var out []Share
	var auto []SharedDir
	names := map[string]int{}
	for _, s := range c.Shares {
		if s.Automount {
			auto = append(auto, SharedDir{Name: uniqueName(names, folderName(s.Path)), Path: s.Path, ReadOnly: s.ReadOnly})
			continue
		}
		out = append(out, Share{Tag: s.Tag, Dirs: []SharedDir{{Path: s.Path, ReadOnly: s.ReadOnly}}})
	}
	if len(auto) > 0 {
		out = append(out, Share{Automount: true, Dirs: auto})
	}
	return out
}

func folderName(p string) string {
	name := filepath.Base(filepath.Clean(p))
	if name == "/" || name == "." || name == "" {
		return "share"
	}
	return name
}

// uniqueName gives a second folder called "src" the name "src-2", so both
// show up in the guest.
func uniqueName(seen map[string]int, name string) string {
	seen[name]++
	if seen[name] == 1 {
		return name
	}
	for n := seen[name]; ; n++ {
		candidate := name + "-" + strconv.Itoa(n)
		if seen[candidate] == 0 {
			seen[candidate] = 1
			return candidate
		}
	}
}

// window sizes the display window in points: a Retina-density display
// (144 ppi and up) has two pixels per point.
func window(c *vm.Config) Window {
	scale := 1.0
	if c.Display.PPI >= 144 {
		scale = 2
	}
	return Window{
		Title:   c.Name,
		Width:   float64(c.Display.Width) / scale,
		Height:  float64(c.Display.Height) / scale,
		GuestOS: c.OS,
	}
}
