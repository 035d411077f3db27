package vz

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

var (
	sonoma   = hostcap.Host{OS: "darwin", Arch: "arm64", Version: hostcap.Version{Major: 14, Minor: 5}}
	ventura  = hostcap.Host{OS: "darwin", Arch: "arm64", Version: hostcap.Version{Major: 13, Minor: 6}}
	monterey = hostcap.Host{OS: "darwin", Arch: "arm64", Version: hostcap.Version{Major: 12, Minor: 7}}
	intel    = hostcap.Host{OS: "darwin", Arch: "amd64", Version: hostcap.Version{Major: 14, Minor: 5}}
	linux    = hostcap.Host{OS: "linux", Arch: "amd64"}
)

const lib = "/lib"

// linuxDesktop is a Linux desktop installing from an ISO, with two shared
// folders, clipboard, Rosetta and audio, run disposable.
func linuxDesktop() *vm.RunSpec {
	c := vm.NewConfig("desk", vm.OSLinux)
	c.Backend, c.Arch = vm.BackendVZ, vm.ArchARM64
	c.CPUs, c.Memory = 4, 8*vm.GiB
	c.Boot.ISO = "/isos/debian-12-arm64.iso"
	c.Disks = []vm.Disk{{File: "disk-0.img", Size: 64 * vm.GiB}, {File: "data.img", Size: 8 * vm.GiB, ReadOnly: true}}
	c.Display = vm.Display{Width: 1920, Height: 1200, PPI: 80, AutoResize: true}
	c.Network = vm.Network{Mode: vm.NetNAT, MAC: "52:54:00:12:34:56"}
	c.Shares = []vm.Share{{Path: "/Users/me/src", Tag: "src"}, {Path: "/Users/me/Music", Tag: "music", ReadOnly: true}}
	c.Clipboard, c.Rosetta, c.Audio, c.Disposable = true, true, true, true
	b := vm.Bundle{Dir: lib + "/desk.vm"}
	return &vm.RunSpec{
		Bundle: b, Config: c, Disposable: true,
		Disks:   []string{b.DisposableDir() + "/disk-0.img", b.DisposableDir() + "/data.img"},
		EFIVars: b.DisposableDir() + "/efi-vars.fd",
		Seed:    b.SeedPath(),
		Console: &bytes.Buffer{},
	}
}

// macGuest is a macOS guest with two automount folders of the same name
// and one tagged share.
func macGuest() *vm.RunSpec {
	c := vm.NewConfig("mac", vm.OSMacOS)
	c.CPUs, c.Memory = 4, 8*vm.GiB
	c.Disks = []vm.Disk{{File: "disk-0.img", Size: 80 * vm.GiB}}
	c.Display = vm.Display{Width: 2880, Height: 1800, PPI: 144, AutoResize: true}
	c.Network = vm.Network{Mode: vm.NetNAT, MAC: "52:54:00:ab:cd:ef"}
	c.Shares = []vm.Share{
		{Path: "/Users/me/work/src", Automount: true},
		{Path: "/Volumes/Backup/src", Automount: true, ReadOnly: true},
		{Path: "/Users/me/Downloads", Tag: "downloads"},
	}
	b := vm.Bundle{Dir: lib + "/mac.vm"}
	return &vm.RunSpec{Bundle: b, Config: c, Disks: []string{b.DiskPath("disk-0.img")}}
}

// kernelServer boots a kernel directly, bridged, headless, with its serial
// console captured.
func kernelServer() *vm.RunSpec {
	c := vm.NewConfig("srv", vm.OSLinux)
	c.Backend, c.Arch = vm.BackendVZ, vm.ArchARM64
	c.CPUs, c.Memory = 2, 2*vm.GiB
	c.Boot = vm.Boot{Mode: vm.BootLinux, Kernel: "/k/vmlinuz", Initrd: "/k/initrd.img", Cmdline: "console=hvc0 root=/dev/vda"}
	c.Disks = []vm.Disk{{File: "disk-0.img", Size: 16 * vm.GiB}}
	c.Display = vm.Display{Width: 1024, Height: 768, PPI: 80}
	c.Network = vm.Network{Mode: vm.NetBridged, Interface: "en0", MAC: "52:54:00:00:00:01"}
	b := vm.Bundle{Dir: lib + "/srv.vm"}
	return &vm.RunSpec{Bundle: b, Config: c, Disks: []string{b.DiskPath("disk-0.img")}, Headless: true, Console: &bytes.Buffer{}}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name string
		spec *vm.RunSpec
		host hostcap.Host
		want *MachinePlan
	}{
		{
			name: "linux desktop with shares, clipboard, rosetta, disposable",
			spec: linuxDesktop(),
			host: sonoma,
			want: &MachinePlan{
				CPUs: 4, Memory: 8 << 30,
				Window: Window{Title: "desk", Width: 1920, Height: 1200, GuestOS: vm.OSLinux},
				Devices: []Device{
					GenericPlatform{MachineIDPath: lib + "/desk.vm/machine-id.bin"},
					EFIBoot{VariableStorePath: lib + "/desk.vm/run/disposable/efi-vars.fd"},
					Disk{Name: "disk-0.img", Path: lib + "/desk.vm/run/disposable/disk-0.img", Bus: BusVirtio, Cache: CacheCached, Sync: SyncNone},
					Disk{Name: "data.img", Path: lib + "/desk.vm/run/disposable/data.img", ReadOnly: true, Bus: BusVirtio, Cache: CacheCached, Sync: SyncNone},
					Disk{Name: "install ISO debian-12-arm64.iso", Path: "/isos/debian-12-arm64.iso", ReadOnly: true, Bus: BusUSB, Cache: CacheCached, Sync: SyncNone},
					Disk{Name: "cloud-init seed", Path: lib + "/desk.vm/cidata.iso", ReadOnly: true, Bus: BusVirtio, Cache: CacheCached, Sync: SyncNone},
					Network{Mode: vm.NetNAT, MAC: "52:54:00:12:34:56"},
					VirtioGPU{Width: 1920, Height: 1200},
					Keyboard{Kind: KeyboardUSB},
					Pointer{Kind: PointerUSB},
					Audio{},
					Entropy{},
					MemoryBalloon{},
					Share{Tag: "src", Dirs: []SharedDir{{Path: "/Users/me/src"}}},
					Share{Tag: "music", Dirs: []SharedDir{{Path: "/Users/me/Music", ReadOnly: true}}},
					Clipboard{},
					Rosetta{Tag: "rosetta"},
					SerialConsole{},
				},
			},
		},
		{
			name: "macos guest with automount share on sonoma",
			spec: macGuest(),
			host: sonoma,
			want: &MachinePlan{
				CPUs: 4, Memory: 8 << 30,
				Window: Window{Title: "mac", Width: 1440, Height: 900, GuestOS: vm.OSMacOS},
				Devices: []Device{
					MacPlatform{HardwareModelPath: lib + "/mac.vm/hardware-model.bin", MachineIDPath: lib + "/mac.vm/machine-id.bin", AuxStoragePath: lib + "/mac.vm/aux.img"},
					MacOSBoot{},
					Disk{Name: "disk-0.img", Path: lib + "/mac.vm/disk-0.img", Bus: BusVirtio, Cache: CacheAutomatic, Sync: SyncFull},
					Network{Mode: vm.NetNAT, MAC: "52:54:00:ab:cd:ef"},
					MacDisplay{Width: 2880, Height: 1800, PPI: 144},
					Keyboard{Kind: KeyboardMac},
					Keyboard{Kind: KeyboardUSB},
					Pointer{Kind: PointerTrackpad},
					Pointer{Kind: PointerUSB},
					Entropy{},
					MemoryBalloon{},
					Share{Tag: "downloads", Dirs: []SharedDir{{Path: "/Users/me/Downloads"}}},
					Share{Automount: true, Dirs: []SharedDir{
						{Name: "src", Path: "/Users/me/work/src"},
						{Name: "src-2", Path: "/Volumes/Backup/src", ReadOnly: true},
					}},
				},
			},
		},
		{
			name: "macos guest on ventura gets a USB keyboard and no auto-resize",
			spec: macGuest(),
			host: ventura,
			want: &MachinePlan{
				CPUs: 4, Memory: 8 << 30,
				Window: Window{Title: "mac", Width: 1440, Height: 900, GuestOS: vm.OSMacOS},
				Devices: []Device{
					MacPlatform{HardwareModelPath: lib + "/mac.vm/hardware-model.bin", MachineIDPath: lib + "/mac.vm/machine-id.bin", AuxStoragePath: lib + "/mac.vm/aux.img"},
					MacOSBoot{},
					Disk{Name: "disk-0.img", Path: lib + "/mac.vm/disk-0.img", Bus: BusVirtio, Cache: CacheAutomatic, Sync: SyncFull},
					Network{Mode: vm.NetNAT, MAC: "52:54:00:ab:cd:ef"},
					MacDisplay{Width: 2880, Height: 1800, PPI: 144},
					Keyboard{Kind: KeyboardUSB},
					Pointer{Kind: PointerTrackpad},
					Pointer{Kind: PointerUSB},
					Entropy{},
					MemoryBalloon{},
					Share{Tag: "downloads", Dirs: []SharedDir{{Path: "/Users/me/Downloads"}}},
					Share{Automount: true, Dirs: []SharedDir{
						{Name: "src", Path: "/Users/me/work/src"},
						{Name: "src-2", Path: "/Volumes/Backup/src", ReadOnly: true},
					}},
				},
				Notes: []string{"Display auto-resize needs macOS 14 or later on this Mac (it has macOS 13.6): the display keeps its configured size"},
			},
		},
		{
			name: "kernel-boot server, bridged and headless",
			spec: kernelServer(),
			host: ventura,
			want: &MachinePlan{
				CPUs: 2, Memory: 2 << 30,
				Window: Window{Title: "srv", Width: 1024, Height: 768, GuestOS: vm.OSLinux},
				Devices: []Device{
					GenericPlatform{MachineIDPath: lib + "/srv.vm/machine-id.bin"},
					LinuxBoot{Kernel: "/k/vmlinuz", Initrd: "/k/initrd.img", Cmdline: "console=hvc0 root=/dev/vda"},
					Disk{Name: "disk-0.img", Path: lib + "/srv.vm/disk-0.img", Bus: BusVirtio, Cache: CacheCached, Sync: SyncFsync},
					Network{Mode: vm.NetBridged, Interface: "en0", MAC: "52:54:00:00:00:01"},
					VirtioGPU{Width: 1024, Height: 768},
					Keyboard{Kind: KeyboardUSB},
					Pointer{Kind: PointerUSB},
					Entropy{},
					MemoryBalloon{},
					SerialConsole{},
				},
				Notes: []string{"Bridged networking on en0 needs Vivarium to be signed with Apple's restricted com.apple.vm.networking entitlement; without it the VM does not start — use NAT instead"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(tt.spec, tt.host)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if g, w := render(got), render(tt.want); g != w {
				t.Errorf("plan differs\n got:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

// render prints a plan one device per line, so a failing test shows where
// the plans part.
func render(p *MachinePlan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cpus=%d memory=%d recovery=%v restore=%q window=%+v\n", p.CPUs, p.Memory, p.Recovery, p.Restore, p.Window)
	for i, d := range p.Devices {
		fmt.Fprintf(&b, "%2d %-18s %#v\n", i, d.Stage(), d)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

// Each thing the host cannot do is refused before anything is built, with
// the sentence the settings UI shows.
func TestPlanRefusals(t *testing.T) {
	withSpec := func(base func() *vm.RunSpec, change func(*vm.RunSpec)) *vm.RunSpec {
		s := base()
		change(s)
		return s
	}
	tests := []struct {
		name string
		spec *vm.RunSpec
		host hostcap.Host
		want string
	}{
		{name: "rosetta on an intel mac", spec: linuxDesktop(), host: intel,
			want: "Rosetta for Linux needs a Mac with Apple silicon: turn off rosetta in the VM's settings to run it on this host"},
		{name: "clipboard on monterey", spec: withSpec(linuxDesktop, func(s *vm.RunSpec) { s.Config.Rosetta, s.Config.Boot.ISO = false, "" }), host: monterey,
			want: "Linux guests with Apple Virtualization need macOS 13 or later on this Mac (it has macOS 12.7): set backend = \"qemu\" to run it on this host; " +
				"Clipboard sharing (SPICE agent) needs macOS 13 or later on this Mac (it has macOS 12.7): turn off clipboard in the VM's settings to run it on this host"},
		{name: "automount on monterey", spec: macGuest(), host: monterey,
			want: "Automounted shared folders in macOS guests need macOS 13 or later on this Mac (it has macOS 12.7): give the shares a tag instead of automount to run it on this host"},
		{name: "macos guest on an intel mac", spec: macGuest(), host: intel,
			want: "macOS guests need a Mac with Apple silicon"},
		{name: "macos guest on linux", spec: macGuest(), host: linux,
			want: "macOS guests need macOS on a Mac with Apple silicon (this is linux/amd64)"},
		{name: "linux guest on linux", spec: kernelServer(), host: linux,
			want: "Apple Virtualization (backend \"vz\") needs macOS on a Mac (this is linux/amd64): set backend = \"qemu\" to run it on this host"},
		{name: "recovery boot of a linux guest", spec: withSpec(kernelServer, func(s *vm.RunSpec) { s.Recovery = true }), host: sonoma,
			want: "srv: not supported on this host: recovery boot is for macOS guests; this is a linux guest"},
		{name: "resume on ventura", spec: withSpec(macGuest, func(s *vm.RunSpec) { s.Restore = s.Bundle.SavedStatePath() }), host: ventura,
			want: "Suspending and resuming a VM needs macOS 14 or later on this Mac (it has macOS 13.6): stop the VM instead"},
		{name: "recovery of a suspended macOS guest", spec: withSpec(macGuest, func(s *vm.RunSpec) { s.Recovery, s.Restore = true, s.Bundle.SavedStatePath() }), host: sonoma,
			want: "mac: not supported on this host: the VM is suspended, and starting it in recovery would throw its saved state away; start it normally and shut macOS down first, or delete state.vzvmsave (what was open in the guest is lost)"},
		{name: "resume a disposable run", spec: withSpec(linuxDesktop, func(s *vm.RunSpec) { s.Restore = s.Bundle.SavedStatePath() }), host: sonoma,
			want: "desk: not supported on this host: a disposable run cannot resume a saved state; start it normally or turn off disposable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Plan(tt.spec, tt.host)
			if err == nil {
				t.Fatalf("Plan = %s, want refusal %q", render(p), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Plan error\n got: %s\nwant: %s", err, tt.want)
			}
			if !errors.Is(err, vm.ErrUnsupported) {
				t.Errorf("error %v does not match vm.ErrUnsupported", err)
			}
		})
	}
}

// auto_resize = false cannot be honoured by vz's window on macOS 14+: the
// run says so instead of quietly resizing.
func TestPlanFixedDisplayNote(t *testing.T) {
	tests := []struct {
		name     string
		host     hostcap.Host
		headless bool
		want     string
	}{
		{name: "sonoma", host: sonoma, want: "A display that keeps its size (auto_resize = false) needs macOS 13 or earlier on this Mac (it has macOS 14.5): from macOS 14 on, the VM's window always resizes the guest's display with itself"},
		{name: "ventura keeps the size", host: ventura},
		{name: "headless has no window", host: sonoma, headless: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := macGuest()
			s.Config.Display.AutoResize, s.Headless = false, tt.headless
			p, err := Plan(s, tt.host)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(p.Notes, "\n")
			if got != tt.want {
				t.Errorf("notes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlanStartModes(t *testing.T) {
	tests := []struct {
		name         string
		spec         *vm.RunSpec
		wantRecovery bool
		wantRestore  string
	}{
		{name: "normal boot", spec: macGuest()},
		{name: "recovery", spec: func() *vm.RunSpec { s := macGuest(); s.Recovery = true; return s }(), wantRecovery: true},
		{name: "resume", spec: func() *vm.RunSpec { s := macGuest(); s.Restore = s.Bundle.SavedStatePath(); return s }(),
			wantRestore: lib + "/mac.vm/state.vzvmsave"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Plan(tt.spec, sonoma)
			if err != nil {
				t.Fatal(err)
			}
			if p.Recovery != tt.wantRecovery || p.Restore != tt.wantRestore {
				t.Errorf("recovery=%v restore=%q, want %v %q", p.Recovery, p.Restore, tt.wantRecovery, tt.wantRestore)
			}
		})
	}
}

// Clipboard sharing is a SPICE agent feature of Linux guests: a macOS guest
// asking for it gets no port and a note saying why.
func TestPlanClipboardOnMacOSGuest(t *testing.T) {
	s := macGuest()
	s.Config.Clipboard = true
	p, err := Plan(s, sonoma)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range p.Devices {
		if _, ok := d.(Clipboard); ok {
			t.Errorf("macOS guest got a SPICE clipboard port")
		}
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "macOS guests don't support it") {
		t.Errorf("notes = %q, want one saying macOS guests don't support clipboard sharing", p.Notes)
	}
}

func TestPlanMismatchedRun(t *testing.T) {
	tests := []struct {
		name   string
		change func(*vm.RunSpec)
		want   string
	}{
		{name: "missing disk path", change: func(s *vm.RunSpec) { s.Disks = nil }, want: "srv: the run has 0 disk paths for 1 disks in the config"},
		{name: "qemu config", change: func(s *vm.RunSpec) { s.Config.Backend = vm.BackendQEMU }, want: "srv: backend is \"qemu\", not \"vz\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kernelServer()
			tt.change(s)
			_, err := Plan(s, sonoma)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Plan error = %v, want %q", err, tt.want)
			}
		})
	}
}
