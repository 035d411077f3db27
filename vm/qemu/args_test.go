package qemu

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current Args")

// testConfig is a valid Linux VM booting a kernel, with nothing attached;
// each case adds what it proves.
func testConfig() *vm.Config {
	c := vm.NewConfig("Demo", vm.OSLinux)
	c.Backend = vm.BackendQEMU
	c.Arch = vm.ArchAMD64
	c.CPUs = 1
	c.Memory = vm.MiB * 512
	c.Boot = vm.Boot{Mode: vm.BootLinux, Kernel: "/guest/vmlinux", Initrd: "/guest/initrd.img", Cmdline: "console=ttyS0 quiet"}
	c.Network = vm.Network{Mode: vm.NetNone}
	c.Display = vm.Display{Width: 1024, Height: 768, PPI: 80, AutoResize: true}
	return c
}

func linuxTCG() Host { return Host{OS: "linux", Arch: vm.ArchAMD64, Accel: AccelTCG} }

func testOVMF() Firmware {
	return Firmware{Code: "/usr/share/OVMF/OVMF_CODE_4M.fd", Vars: "/usr/share/OVMF/OVMF_VARS_4M.fd"}
}

func testAAVMF() Firmware {
	return Firmware{Code: "/usr/share/AAVMF/AAVMF_CODE.fd", Vars: "/usr/share/AAVMF/AAVMF_VARS.fd"}
}

const testBundle = "/vms/Demo.vm"

func TestArgsGolden(t *testing.T) {
	tests := []struct {
		name string
		in   func() ArgsInput
		// Beside the golden file, the points of each case, spelled out:
		// arguments (or argument fragments) that must and must not appear.
		want, wantNot []string
	}{
		{
			name: "kernel-headless",
			in: func() ArgsInput {
				return ArgsInput{Config: testConfig(), Headless: true, Host: linuxTCG()}
			},
			want: []string{"-nodefaults", "q35", "-kernel", "/guest/vmlinux", "-initrd", "console=ttyS0 quiet",
				"-display", "none", "virtio-vga,xres=1024,yres=768", "path=/vms/Demo.vm/run/console.log",
				"path=/vms/Demo.vm/run/qmp.sock", "/vms/Demo.vm/run/qemu.pid", "tcg", "max"},
			wantNot: []string{"thread=multi", "-netdev", "virtio-net-pci", "pflash", "usb-tablet", "intel-hda"},
		},
		{
			// A state saved with a window holds its tablet and sound card:
			// resumed headless, the VM gets them (the sound silent).
			name: "resume-windowed-state-headless",
			in: func() ArgsInput {
				c := testConfig()
				c.Audio = true
				h := linuxTCG()
				h.AudioDriver = "pa"
				return ArgsInput{Config: c, Headless: true, Host: h,
					Resume: &SavedState{Path: testBundle + "/state.vzvmsave", Headless: false, Skip: 64}}
			},
			want:    []string{"-display", "none", "usb-tablet,bus=usb.0", "none,id=audio0", "hda-duplex,audiodev=audio0", "-incoming", "exec:tail -c +65 /vms/Demo.vm/state.vzvmsave"},
			wantNot: []string{"pa,id=audio0", "path=/vms/Demo.vm/run/console.log"},
		},
		{
			// A state saved headless holds a serial port and no tablet.
			name: "resume-headless-state-windowed",
			in: func() ArgsInput {
				c := testConfig()
				c.Audio = true
				h := linuxTCG()
				h.AudioDriver = "pa"
				return ArgsInput{Config: c, Host: h, Resume: &SavedState{Path: testBundle + "/it's state", Headless: true}}
			},
			want:    []string{"gtk,zoom-to-fit=off", "path=/vms/Demo.vm/run/console.log", "-incoming", `exec:cat '/vms/Demo.vm/it'\''s state'`},
			wantNot: []string{"usb-tablet", "intel-hda"},
		},
		{
			name: "efi-install-windowed",
			in: func() ArgsInput {
				c := testConfig()
				c.CPUs = 4
				c.Memory = 4 * vm.GiB
				c.Boot = vm.Boot{Mode: vm.BootEFI, ISO: "/isos/debian.iso"}
				c.Disks = []vm.Disk{{File: "disk-0.img", Size: 64 * vm.GiB}, {File: "data.img", Size: vm.GiB, ReadOnly: true}}
				c.Network = vm.Network{Mode: vm.NetNAT, MAC: "52:54:00:12:34:56"}
				c.Audio = true
				return ArgsInput{Config: c, Disks: []string{testBundle + "/disk-0.img", testBundle + "/data.img"},
					EFIVars: testBundle + "/efi-vars.fd", Firmware: testOVMF(),
					Host: Host{OS: "linux", Arch: vm.ArchAMD64, Accel: AccelTCG, AudioDriver: "pa"}}
			},
			want: []string{"tcg,thread=multi", "4096M",
				"if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
				"if=pflash,format=raw,unit=1,file=/vms/Demo.vm/efi-vars.fd",
				"ide-cd,bus=ide.0,drive=cdrom0,bootindex=0",
				"virtio-blk-pci,drive=disk0,bootindex=1", "virtio-blk-pci,drive=disk1,bootindex=2",
				"if=none,id=disk1,format=raw,discard=unmap,readonly=on,file=/vms/Demo.vm/data.img",
				"user,id=net0", "virtio-net-pci,netdev=net0,romfile=,mac=52:54:00:12:34:56",
				"gtk,zoom-to-fit=off", "usb-tablet,bus=usb.0", "pa,id=audio0", "hda-duplex,audiodev=audio0"},
			wantNot: []string{"-kernel", "console.log", "usb-kbd"},
		},
		{
			name: "disposable-overlays",
			in: func() ArgsInput {
				c := testConfig()
				c.Disks = []vm.Disk{{File: "disk-0.img", Size: 64 * vm.GiB}}
				return ArgsInput{Config: c, Disks: []string{testBundle + "/run/disposable/disk-0.img.qcow2"}, Headless: true, Host: linuxTCG()}
			},
			want:    []string{"if=none,id=disk0,format=qcow2,discard=unmap,file=/vms/Demo.vm/run/disposable/disk-0.img.qcow2"},
			wantNot: []string{"file=/vms/Demo.vm/disk-0.img", "format=raw,discard"},
		},
		{
			name: "shares-clipboard",
			in: func() ArgsInput {
				c := testConfig()
				c.Shares = []vm.Share{{Path: "/home/me/src", Tag: "src"}, {Path: "/home/me/docs", Tag: "docs", ReadOnly: true}}
				c.Clipboard = true
				return ArgsInput{Config: c, Headless: true, Host: linuxTCG()}
			},
			want: []string{
				"local,id=fs0,security_model=none,path=/home/me/src", "virtio-9p-pci,fsdev=fs0,mount_tag=src",
				"local,id=fs1,security_model=none,readonly=on,path=/home/me/docs", "virtio-9p-pci,fsdev=fs1,mount_tag=docs",
				"virtio-serial-pci,id=vser0",
				"qemu-vdagent,id=vdagent0,name=vdagent,clipboard=on,mouse=off",
				"virtserialport,bus=vser0.0,chardev=vdagent0,name=com.redhat.spice.0"},
		},
		{
			name: "forwards-seed",
			in: func() ArgsInput {
				c := testConfig()
				c.Network = vm.Network{Mode: vm.NetNAT, MAC: "52:54:00:12:34:56", Forwards: []string{"2222:22", "udp/127.0.0.2:5353:53"}}
				return ArgsInput{Config: c, Seed: testBundle + "/cidata.iso", Headless: true, Host: linuxTCG()}
			},
			want: []string{"user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:127.0.0.2:5353-:53",
				"if=none,id=seed,format=raw,readonly=on,file=/vms/Demo.vm/cidata.iso", "virtio-blk-pci,drive=seed"},
			wantNot: []string{"0.0.0.0", "bootindex"},
		},
		{
			name: "spice-viewer-linux",
			in: func() ArgsInput {
				c := testConfig()
				c.Display = vm.Display{Width: 1280, Height: 800, PPI: 96, AutoResize: true}
				c.Shares = []vm.Share{{Path: "/home/me/src", Tag: "src"}}
				c.Clipboard = true
				c.Serial = true
				return ArgsInput{Config: c, Host: Host{OS: "linux", Arch: vm.ArchAMD64, Accel: AccelTCG, Viewer: ViewerSPICE}}
			},
			want: []string{
				"-spice", "unix=on,addr=/vms/Demo.vm/run/spice.sock,disable-ticketing=on",
				"spicevmc,id=vdagent0,name=vdagent",
				"virtserialport,bus=vser0.0,chardev=vdagent0,name=com.redhat.spice.0",
				"virtio-vga,xres=1280,yres=800", "usb-tablet,bus=usb.0", "chardev:serial0"},
			wantNot: []string{"gtk", "qemu-vdagent", "zoom-to-fit"},
		},
		{
			name: "spice-headless-window-later",
			in: func() ArgsInput {
				c := testConfig()
				c.Clipboard = true
				return ArgsInput{Config: c, Headless: true, Host: Host{OS: "linux", Arch: vm.ArchAMD64, Accel: AccelTCG, Viewer: ViewerSPICE}}
			},
			want:    []string{"unix=on,addr=/vms/Demo.vm/run/spice.sock,disable-ticketing=on", "spicevmc,id=vdagent0,name=vdagent", "path=/vms/Demo.vm/run/console.log"},
			wantNot: []string{"gtk", "qemu-vdagent"},
		},
		{
			name: "macos-host-fixed-display",
			in: func() ArgsInput {
				c := testConfig()
				c.Display = vm.Display{Width: 1440, Height: 900, PPI: 144}
				c.Network = vm.Network{Mode: vm.NetNAT, MAC: "52:54:00:aa:bb:cc"}
				c.Serial = true
				c.Audio = true
				return ArgsInput{Config: c, Host: Host{OS: "darwin", Arch: vm.ArchAMD64, Accel: AccelHVF, AudioDriver: "coreaudio"}}
			},
			want:    []string{"hvf", "host", "cocoa,zoom-to-fit=on", "VGA,xres=1440,yres=900,edid=on,vgamem_mb=16", "coreaudio,id=audio0", "chardev:serial0"},
			wantNot: []string{"gtk", "tcg", "virtio-vga"},
		},
		{
			name: "x86-guest-on-apple-silicon",
			in: func() ArgsInput {
				c := testConfig()
				c.CPUs = 4
				return ArgsInput{Config: c, Headless: true, Host: Host{OS: "darwin", Arch: vm.ArchARM64, Accel: AccelTCG}}
			},
			want:    []string{"tcg", "max"},
			wantNot: []string{"thread=multi", "hvf"},
		},
		{
			name: "fixed-4k-display-headless",
			in: func() ArgsInput {
				c := testConfig()
				c.Display = vm.Display{Width: 3840, Height: 2160, PPI: 144}
				return ArgsInput{Config: c, Headless: true, Host: linuxTCG()}
			},
			want:    []string{"VGA,xres=3840,yres=2160,edid=on,vgamem_mb=64", "-display", "none"},
			wantNot: []string{"virtio-vga", "zoom-to-fit"},
		},
		{
			name: "arm64-efi-install",
			in: func() ArgsInput {
				c := testConfig()
				c.Arch = vm.ArchARM64
				c.CPUs = 2
				c.Boot = vm.Boot{Mode: vm.BootEFI, ISO: "/isos/fedora-aarch64.iso"}
				c.Disks = []vm.Disk{{File: "disk-0.img", Size: 64 * vm.GiB}}
				return ArgsInput{Config: c, Disks: []string{testBundle + "/disk-0.img"}, EFIVars: testBundle + "/efi-vars.fd",
					Firmware: testAAVMF(), Host: Host{OS: "linux", Arch: vm.ArchARM64, Accel: AccelKVM}}
			},
			want: []string{"virt", "kvm", "host", "virtio-gpu-pci,xres=1024,yres=768", "qemu-xhci,id=usb",
				"usb-storage,bus=usb.0,drive=cdrom0,removable=on,bootindex=0", "usb-kbd,bus=usb.0",
				"if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd"},
			wantNot: []string{"q35", "virtio-vga", "ide-cd", "thread=multi"},
		},
		{
			name: "bridged-linux",
			in: func() ArgsInput {
				c := testConfig()
				c.Network = vm.Network{Mode: vm.NetBridged, Interface: "br0", MAC: "52:54:00:00:00:01"}
				return ArgsInput{Config: c, Headless: true, Host: linuxTCG()}
			},
			want: []string{"bridge,id=net0,br=br0", "virtio-net-pci,netdev=net0,romfile=,mac=52:54:00:00:00:01"},
		},
		{
			name: "bridged-macos",
			in: func() ArgsInput {
				c := testConfig()
				c.Network = vm.Network{Mode: vm.NetBridged, Interface: "en0", MAC: "52:54:00:00:00:02"}
				return ArgsInput{Config: c, Headless: true, Host: Host{OS: "darwin", Arch: vm.ArchAMD64, Accel: AccelHVF}}
			},
			want: []string{"vmnet-bridged,id=net0,ifname=en0"},
		},
		{
			name: "audio-without-host-sound",
			in: func() ArgsInput {
				c := testConfig()
				c.Audio = true
				return ArgsInput{Config: c, Host: linuxTCG()}
			},
			wantNot: []string{"-audiodev", "intel-hda"},
		},
		{
			name: "commas-in-paths",
			in: func() ArgsInput {
				c := testConfig()
				c.Name = "a,b"
				c.Disks = []vm.Disk{{File: "disk-0.img", Size: vm.GiB}}
				c.Shares = []vm.Share{{Path: "/home/me/x,readonly=off", Tag: "x"}}
				return ArgsInput{Config: c, Bundle: vm.Bundle{Dir: "/vms/a,b.vm"}, Disks: []string{"/vms/a,b.vm/disk-0.img"}, Headless: true, Host: linuxTCG()}
			},
			want:    []string{"a,,b", "file=/vms/a,,b.vm/disk-0.img", "path=/home/me/x,,readonly=off", "path=/vms/a,,b.vm/run/qmp.sock"},
			wantNot: []string{"path=/home/me/x,readonly=off"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			in.Binary = SystemBinary(in.Config.Arch)
			if in.Bundle.Dir == "" {
				in.Bundle = vm.Bundle{Dir: testBundle}
			}
			if err := in.Config.Validate(); err != nil {
				t.Fatalf("the case's config is invalid: %v", err)
			}
			args, err := Args(in)
			if err != nil {
				t.Fatalf("Args: %v", err)
			}
			again, _ := Args(in)
			if strings.Join(again, "\n") != strings.Join(args, "\n") {
				t.Errorf("Args gave two different command lines for one input")
			}
			for _, w := range tt.want {
				if !hasArg(args, w) {
					t.Errorf("no argument %q in\n%s", w, shellJoin(args))
				}
			}
			for _, w := range tt.wantNot {
				if hasArgPart(args, w) {
					t.Errorf("argument %q should not be in\n%s", w, shellJoin(args))
				}
			}
			checkGolden(t, filepath.Join("testdata", tt.name+".golden"), strings.Join(args, "\n")+"\n")
		})
	}
}

// hasArg reports whether one argument is want, or has want as one of its
// comma-separated options or as a run of them.
func hasArg(args []string, want string) bool {
	for _, a := range args {
		if a == want || strings.HasPrefix(a, want+",") || strings.HasSuffix(a, ","+want) || strings.Contains(a, ","+want+",") {
			return true
		}
	}
	return false
}

func hasArgPart(args []string, part string) bool {
	for _, a := range args {
		if strings.Contains(a, part) {
			return true
		}
	}
	return false
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./vm/qemu -run TestArgsGolden -update to write it)", err)
	}
	if got == string(want) {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s differs at argument %d: got %q, want %q (go test ./vm/qemu -run TestArgsGolden -update rewrites it)", path, i, gl, wl)
		}
	}
}

func TestArgsRefuses(t *testing.T) {
	tests := []struct {
		name    string
		in      func() ArgsInput
		wantErr string
		wantIs  error
	}{
		{
			name: "disk files missing",
			in: func() ArgsInput {
				c := testConfig()
				c.Disks = []vm.Disk{{File: "disk-0.img", Size: vm.GiB}}
				return ArgsInput{Config: c}
			},
			wantErr: "0 disk files for the 1 disks",
		},
		{
			name: "efi without firmware",
			in: func() ArgsInput {
				c := testConfig()
				c.Boot = vm.Boot{Mode: vm.BootEFI}
				return ArgsInput{Config: c, EFIVars: "/x/efi-vars.fd"}
			},
			wantIs: ErrNoFirmware,
		},
		{
			name: "efi without a variable store",
			in: func() ArgsInput {
				c := testConfig()
				c.Boot = vm.Boot{Mode: vm.BootEFI}
				return ArgsInput{Config: c, Firmware: testOVMF()}
			},
			wantErr: "no EFI variable store",
		},
		{
			name: "macOS boot",
			in: func() ArgsInput {
				c := testConfig()
				c.Boot = vm.Boot{Mode: vm.BootMacOS}
				return ArgsInput{Config: c}
			},
			wantIs: vm.ErrUnsupported,
		},
		{
			name: "unknown accelerator",
			in: func() ArgsInput {
				return ArgsInput{Config: testConfig(), Host: Host{OS: "linux", Accel: "whpx"}}
			},
			wantErr: `accelerator "whpx"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			in.Binary, in.Bundle = "qemu-system-x86_64", vm.Bundle{Dir: testBundle}
			args, err := Args(in)
			if err == nil {
				t.Fatalf("Args = %q, want an error", args)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
		})
	}
}
