package qemu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// Accelerators QEMU can run a guest with.
const (
	AccelKVM = vm.AccelKVM // Linux, guest arch = host arch, /dev/kvm usable
	AccelHVF = vm.AccelHVF // macOS, guest arch = host arch
	AccelTCG = vm.AccelTCG // everywhere, emulated
)

// ClipboardPort is the virtio-serial port name SPICE agents in guests look
// for; the qemu-vdagent chardev behind it shares the clipboard.
const ClipboardPort = "com.redhat.spice.0"

// Host is what Args needs to know about the machine QEMU runs on. DetectHost
// finds it; tests write it out.
type Host struct {
	OS    string // runtime.GOOS: "linux", "darwin", ...
	Arch  string // vm.ArchAMD64 or vm.ArchARM64
	Accel string // AccelKVM, AccelHVF or AccelTCG
	// AudioDriver is the -audiodev backend for guest sound ("pa",
	// "coreaudio"); empty when the host has none, and the VM then gets no
	// sound card.
	AudioDriver string
	// Viewer is what shows the VM's screen: ViewerQEMU (QEMU's own window)
	// or ViewerSPICE.
	Viewer string
}

// Viewers: what shows a VM's screen in a window.
const (
	// ViewerQEMU is QEMU's own window: gtk on Linux, cocoa on macOS. Debian's
	// QEMU GTK window shares no clipboard.
	ViewerQEMU = ""
	// ViewerSPICE is QEMU's SPICE server on run/spice.sock, shown by the
	// SPICE client ViewerProgram, which carries the clipboard both ways and
	// hands the window's size to the guest. The window is a program of its
	// own: it may close while the VM runs, and open again.
	ViewerSPICE = "spice"
)

// ArgsInput is everything the QEMU command line is computed from.
type ArgsInput struct {
	Binary string // qemu-system-x86_64 or qemu-system-aarch64, argv[0]
	Config *vm.Config
	Bundle vm.Bundle // for run/console.log, the QMP socket and run/qemu.pid
	// Disks are the image files to use for Config.Disks, in order: the VM's
	// own, or throw-away overlays for a disposable run. A file ending in
	// ".qcow2" is opened as qcow2, anything else as raw.
	Disks []string
	// EFIVars is the VM's EFI variable store; Firmware.Code is the
	// read-only firmware. Both are needed when Config.Boot.Mode is "efi".
	EFIVars  string
	Firmware Firmware
	// Seed is a cloud-init seed image (vm.RunSpec.Seed), attached
	// read-only when set.
	Seed string
	// Headless runs without a window: no -display, the serial console in
	// run/console.log, and still a screen for screenshots.
	Headless bool
	Host     Host
	// Resume is a saved state to resume from instead of booting; nil boots.
	Resume *SavedState
}

// SavedState is a state file to resume from (suspend, or a snapshot with
// memory), and the device set of the run that saved it: QEMU can load a
// state only where every device it holds is present.
type SavedState struct {
	Path string
	// Headless: saved by a run without a window (no tablet or sound card,
	// a serial port).
	Headless bool
	// Skip is the length of Vivarium's header before QEMU's stream.
	Skip int64
}

// headlessDevices says whether the VM gets a headless run's devices: this
// run's choice, or, when resuming, the saving run's.
func (in ArgsInput) headlessDevices() bool {
	if in.Resume != nil {
		return in.Resume.Headless
	}
	return in.Headless
}

// Args returns the QEMU command line, argv[0] included, for in. It is a pure
// function: the same input always gives the same arguments.
func Args(in ArgsInput) ([]string, error) {
	c := in.Config
	if c == nil {
		return nil, errors.New("qemu arguments: no config")
	}
	if len(in.Disks) != len(c.Disks) {
		return nil, fmt.Errorf("qemu arguments: %d disk files for the %d disks in the config", len(in.Disks), len(c.Disks))
	}
	if c.Arch != vm.ArchAMD64 && c.Arch != vm.ArchARM64 {
		return nil, fmt.Errorf("qemu arguments: arch %q: %w; use %q or %q", c.Arch, vm.ErrUnsupported, vm.ArchAMD64, vm.ArchARM64)
	}
	a := &argv{arm: c.Arch == vm.ArchARM64, in: in}
	a.add(in.Binary, "-name", escape(c.Name), "-nodefaults", "-no-user-config")
	if err := a.machine(); err != nil {
		return nil, err
	}
	if err := a.boot(); err != nil {
		return nil, err
	}
	a.disks()
	if err := a.network(); err != nil {
		return nil, err
	}
	a.shares()
	a.clipboard()
	a.display()
	a.audio()
	a.serial()
	a.add("-device", "virtio-rng-pci")
	qmp := in.Bundle.QMPSocketPath()
	a.add("-chardev", "socket,id=qmp,path="+escape(qmp)+",server=on,wait=off",
		"-mon", "chardev=qmp,mode=control")
	a.add("-pidfile", in.Bundle.QEMUPIDPath())
	if r := in.Resume; r != nil {
		// QEMU 7 has no file: migration; tail (or cat) reads the state in.
		if r.Skip > 0 {
			a.add("-incoming", "exec:tail -c +"+strconv.FormatInt(r.Skip+1, 10)+" "+shellQuote(r.Path))
		} else {
			a.add("-incoming", "exec:cat "+shellQuote(r.Path))
		}
	}
	return a.args, nil
}

// AudioEnabled reports whether Args gives the VM a sound card: the config
// asks for audio, there is a window (or the run resumed had one), and the
// host has a sound backend.
func AudioEnabled(in ArgsInput) bool {
	return in.Config.Audio && !in.headlessDevices() && in.Host.AudioDriver != ""
}

type argv struct {
	args []string
	arm  bool // arm64 guest: -M virt, no PS/2, no IDE
	usb  bool // qemu-xhci added
	in   ArgsInput
}

func (a *argv) add(args ...string) { a.args = append(a.args, args...) }

// needUSB adds the USB controller once, for the tablet, the keyboard and
// arm64 install media.
func (a *argv) needUSB() {
	if !a.usb {
		a.add("-device", "qemu-xhci,id=usb")
		a.usb = true
	}
}

func (a *argv) machine() error {
	c, host := a.in.Config, a.in.Host
	if a.arm {
		a.add("-machine", "virt")
	} else {
		a.add("-machine", "q35")
	}
	switch host.Accel {
	case AccelKVM, AccelHVF:
		a.add("-accel", host.Accel, "-cpu", "host")
	case AccelTCG, "":
		accel := AccelTCG
		// One host thread per CPU, except for an x86 guest on an arm64
		// host: its stronger memory ordering is not emulated across
		// threads, so QEMU keeps such guests on one.
		if c.CPUs > 1 && !(c.Arch == vm.ArchAMD64 && host.Arch == vm.ArchARM64) {
			accel += ",thread=multi"
		}
		// max: every feature TCG emulates; the default qemu64 lacks what
		// current distributions require (x86-64-v2).
		a.add("-accel", accel, "-cpu", "max")
	default:
		return fmt.Errorf("qemu arguments: accelerator %q: use %q, %q or %q", host.Accel, AccelKVM, AccelHVF, AccelTCG)
	}
	a.add("-m", strconv.FormatInt(int64(c.Memory/vm.MiB), 10)+"M", "-smp", strconv.Itoa(c.CPUs))
	return nil
}

func (a *argv) boot() error {
	b := a.in.Config.Boot
	switch b.Mode {
	case vm.BootLinux:
		if b.Kernel == "" {
			return errors.New("qemu arguments: boot.kernel is empty; mode \"linux\" needs a kernel")
		}
		a.add("-kernel", b.Kernel)
		if b.Initrd != "" {
			a.add("-initrd", b.Initrd)
		}
		if b.Cmdline != "" {
			a.add("-append", b.Cmdline)
		}
	case vm.BootEFI:
		fw := a.in.Firmware
		if fw.Code == "" {
			return fmt.Errorf("qemu arguments: no UEFI firmware given for an EFI boot: %w", ErrNoFirmware)
		}
		if a.in.EFIVars == "" {
			return errors.New("qemu arguments: no EFI variable store given for an EFI boot")
		}
		a.add("-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+escape(fw.Code),
			"-drive", "if=pflash,format=raw,unit=1,file="+escape(a.in.EFIVars))
		if b.ISO != "" {
			a.add("-drive", "if=none,id=cdrom0,media=cdrom,readonly=on,format=raw,file="+escape(b.ISO))
			if a.arm {
				// virt has no IDE; every installer reads USB storage.
				a.needUSB()
				a.add("-device", "usb-storage,bus=usb.0,drive=cdrom0,removable=on,bootindex=0")
			} else {
				a.add("-device", "ide-cd,bus=ide.0,drive=cdrom0,bootindex=0")
			}
		}
	default:
		return fmt.Errorf("qemu arguments: boot.mode %q: %w; QEMU boots \"efi\" or \"linux\"", b.Mode, vm.ErrUnsupported)
	}
	return nil
}

func (a *argv) disks() {
	efi := a.in.Config.Boot.Mode == vm.BootEFI
	for i, d := range a.in.Config.Disks {
		id := "disk" + strconv.Itoa(i)
		drive := "if=none,id=" + id + ",format=" + diskFormat(a.in.Disks[i]) + ",discard=unmap"
		if d.ReadOnly {
			drive += ",readonly=on"
		}
		dev := "virtio-blk-pci,drive=" + id
		if efi {
			// After the install ISO (bootindex 0), in config order.
			dev += ",bootindex=" + strconv.Itoa(i+1)
		}
		a.add("-drive", drive+",file="+escape(a.in.Disks[i]), "-device", dev)
	}
	if a.in.Seed != "" {
		// cloud-init finds it by its label, on any bus; never a boot disk.
		a.add("-drive", "if=none,id=seed,format=raw,readonly=on,file="+escape(a.in.Seed),
			"-device", "virtio-blk-pci,drive=seed")
	}
}

// diskFormat is how QEMU opens a disk file. It goes by the name, never by
// probing: a guest may write a qcow2 header into a raw disk.
func diskFormat(path string) string {
	if strings.HasSuffix(path, ".qcow2") {
		return "qcow2"
	}
	return "raw"
}

func (a *argv) network() error {
	n := a.in.Config.Network
	switch n.Mode {
	case vm.NetNone:
		return nil
	case vm.NetNAT:
		forwards, err := n.ParsedForwards()
		if err != nil {
			return fmt.Errorf("qemu arguments: %w", err)
		}
		netdev := "user,id=net0"
		for _, f := range forwards {
			netdev += fmt.Sprintf(",hostfwd=%s:%s:%d-:%d", f.Proto, f.HostAddr, f.HostPort, f.GuestPort)
		}
		a.add("-netdev", netdev)
	case vm.NetBridged:
		if n.Interface == "" {
			return errors.New("qemu arguments: network.interface is empty; bridged networking needs a host interface")
		}
		if a.in.Host.OS == "darwin" {
			a.add("-netdev", "vmnet-bridged,id=net0,ifname="+escape(n.Interface))
		} else {
			// qemu-bridge-helper attaches a tap to the bridge.
			a.add("-netdev", "bridge,id=net0,br="+escape(n.Interface))
		}
	default:
		return fmt.Errorf("qemu arguments: network.mode %q: use \"nat\", \"bridged\" or \"none\"", n.Mode)
	}
	// romfile=: no iPXE ROM; UEFI brings its own virtio-net driver.
	a.add("-device", "virtio-net-pci,netdev=net0,romfile=,mac="+n.MAC)
	return nil
}

func (a *argv) shares() {
	for i, s := range a.in.Config.Shares {
		id := "fs" + strconv.Itoa(i)
		// security_model=none: the guest's files are plain files of the
		// host user, readable and editable on the host as they are.
		fsdev := "local,id=" + id + ",security_model=none"
		if s.ReadOnly {
			fsdev += ",readonly=on"
		}
		a.add("-fsdev", fsdev+",path="+escape(s.Path),
			"-device", "virtio-9p-pci,fsdev="+id+",mount_tag="+escape(s.Tag))
	}
}

// spice reports whether the screen, input and clipboard go through QEMU's
// SPICE server. It depends on the host alone, headless or not, so that a
// headless VM's window can be opened later.
func (a *argv) spice() bool { return a.in.Host.Viewer == ViewerSPICE }

func (a *argv) clipboard() {
	if !a.in.Config.Clipboard {
		return
	}
	a.add("-device", "virtio-serial-pci,id=vser0")
	if a.spice() {
		// The guest's agent talks to the SPICE client, which shares the
		// host's clipboard and sends it the window's size.
		a.add("-chardev", "spicevmc,id=vdagent0,name=vdagent")
	} else {
		// mouse=off: pointing stays with the USB tablet, agent or not.
		a.add("-chardev", "qemu-vdagent,id=vdagent0,name=vdagent,clipboard=on,mouse=off")
	}
	a.add("-device", "virtserialport,bus=vser0.0,chardev=vdagent0,name="+ClipboardPort)
}

func (a *argv) display() {
	d := a.in.Config.Display
	// The device depends on the config alone, never on whether this run
	// has a window: the guest sees the same hardware every time.
	switch {
	case a.arm:
		a.add("-device", fmt.Sprintf("virtio-gpu-pci,xres=%d,yres=%d", d.Width, d.Height))
	case d.AutoResize:
		// QEMU's window hands its size to virtio-gpu, and the guest
		// follows; xres/yres is the mode it prefers until then.
		a.add("-device", fmt.Sprintf("virtio-vga,xres=%d,yres=%d", d.Width, d.Height))
	default:
		// A fixed screen: the standard VGA takes no size from the window,
		// so the guest keeps the configured mode (its EDID's preferred one).
		a.add("-device", fmt.Sprintf("VGA,xres=%d,yres=%d,edid=on,vgamem_mb=%d", d.Width, d.Height, vgaMemMB(d.Width, d.Height)))
	}
	if a.spice() {
		// The SPICE server on a unix socket in the private run/ directory,
		// no password: whoever can reach the socket is the VM's owner. No
		// QEMU window: the viewer is the window.
		a.add("-spice", "unix=on,addr="+escape(a.in.Bundle.SpiceSocketPath())+",disable-ticketing=on",
			"-display", "none")
		a.needUSB()
		a.add("-device", "usb-tablet,bus=usb.0")
		if a.arm {
			a.add("-device", "usb-kbd,bus=usb.0")
		}
		return
	}
	if a.in.Headless {
		// No window, but the screen stays for QMP screendump.
		a.add("-display", "none")
	} else {
		ui := "gtk"
		if a.in.Host.OS == "darwin" {
			ui = "cocoa"
		}
		// zoom-to-fit=off: the window's size is the guest's; on: the window
		// scales the fixed screen.
		zoom := "on"
		if d.AutoResize {
			zoom = "off"
		}
		a.add("-display", ui+",zoom-to-fit="+zoom)
	}
	if a.in.headlessDevices() {
		return
	}
	a.needUSB()
	a.add("-device", "usb-tablet,bus=usb.0")
	if a.arm {
		a.add("-device", "usb-kbd,bus=usb.0") // virt has no PS/2 keyboard
	}
}

// vgaMemMB is the video memory a standard VGA needs for two frames of
// w×h at 32 bits, as the power of two QEMU wants, at least its default 16.
func vgaMemMB(w, h int) int {
	need := 2 * w * h * 4
	mb := 16
	for mb<<20 < need && mb < 512 {
		mb *= 2
	}
	return mb
}

func (a *argv) audio() {
	if !AudioEnabled(a.in) {
		return
	}
	driver := a.in.Host.AudioDriver
	if a.in.Headless {
		driver = "none" // resuming a windowed run's state without a window
	}
	a.add("-audiodev", driver+",id=audio0",
		"-device", "intel-hda", "-device", "hda-duplex,audiodev=audio0")
}

func (a *argv) serial() {
	if !a.in.headlessDevices() && !a.in.Config.Serial {
		return
	}
	a.add("-chardev", "file,id=serial0,path="+escape(a.in.Bundle.ConsoleLogPath()),
		"-serial", "chardev:serial0")
}

// escape makes s safe as a value inside a QEMU option list, where a comma
// separates options and a doubled comma is a literal one.
func escape(s string) string { return strings.ReplaceAll(s, ",", ",,") }
