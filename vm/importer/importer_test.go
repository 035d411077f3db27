package importer_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"howett.net/plist"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

const mib = int64(vm.MiB)

func newImporter(t *testing.T) (*importer.Importer, *vm.Library) {
	t.Helper()
	importertest.RequireQEMUImg(t)
	lib, err := vm.OpenLibrary(filepath.Join(t.TempDir(), "library"))
	if err != nil {
		t.Fatal(err)
	}
	return &importer.Importer{Library: lib, Converter: qemu.ImageTool{}}, lib
}

// imported checks what every import must hold: the VM is in the library,
// the source is unchanged, and each disk has the bytes of the source's.
type want struct {
	os, backend, arch, boot string
	cpus                    int
	memory                  vm.Size
	disks                   []string // SHA-256 of each disk's raw bytes
	files                   map[string]string
	notBrought              []string // each is a substring of one NotBrought line
}

func importAndCheck(t *testing.T, im *importer.Importer, src string, opts importer.Options, w want) *importer.Result {
	t.Helper()
	before := importertest.TreeSum(t, src)
	res, err := im.Import(context.Background(), src, opts)
	if err != nil {
		t.Fatalf("import %s: %v", src, err)
	}
	if after := importertest.TreeSum(t, src); after != before {
		t.Errorf("the import changed its source %s", src)
	}
	c := res.Info.Config
	if res.Info.Err != nil {
		t.Fatalf("the imported VM is broken: %v", res.Info.Err)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("os", c.OS, w.os)
	check("backend", c.Backend, w.backend)
	check("arch", c.Arch, w.arch)
	check("boot", c.Boot.Mode, w.boot)
	check("cpus", c.CPUs, w.cpus)
	check("memory", c.Memory, w.memory)
	if len(c.Disks) != len(w.disks) {
		t.Fatalf("%d disks, want %d: %+v", len(c.Disks), len(w.disks), c.Disks)
	}
	b := res.Info.Bundle()
	for i, d := range c.Disks {
		if got := importertest.FileSum(t, b.DiskPath(d.File)); got != w.disks[i] {
			t.Errorf("disk %d (%s) differs from the source's bytes", i, d.File)
		}
		if st, err := os.Stat(b.DiskPath(d.File)); err != nil || vm.Size(st.Size()) != d.Size || st.Mode().Perm()&0o200 == 0 {
			t.Errorf("disk %d: %v, size %v in config, mode %v", i, err, d.Size, st.Mode())
		}
	}
	for name, sum := range w.files {
		if got := importertest.FileSum(t, filepath.Join(b.Dir, name)); got != sum {
			t.Errorf("%s differs from the source's", name)
		}
	}
	all := strings.Join(res.Plan.NotBrought, "\n")
	for _, nb := range w.notBrought {
		if !strings.Contains(all, nb) {
			t.Errorf("not-brought-over list lacks %q:\n%s", nb, all)
		}
	}
	return res
}

func sumOf(t *testing.T, data []byte) string {
	p := filepath.Join(t.TempDir(), "f")
	importertest.WriteFile(t, p, data)
	return importertest.FileSum(t, p)
}

// TestImportUTMFixtureQEMU imports UTM 4's real macOS 12 x86_64 QEMU
// config around small qcow2 disks, with a raw efi_vars.fd as such bundles
// from before 2022-02-27 have.
func TestImportUTMFixtureQEMU(t *testing.T) {
	im, _ := newImporter(t)
	fx := importertest.FixturesDir(t)
	src := filepath.Join(t.TempDir(), "macOS 12.utm")
	importertest.CopyFile(t, filepath.Join(fx, "utm", "qemu-x86_64-macos12-real.utm", "config.plist"), filepath.Join(src, "config.plist"))
	data := filepath.Join(src, "Data")
	os.MkdirAll(data, 0o755)
	importertest.Image(t, filepath.Join(data, "OVMF.qcow2"), "qcow2", 2*mib, "firmware")
	efiDisk := importertest.Image(t, filepath.Join(data, "EFI-MODERN-MK.qcow2"), "qcow2", 4*mib, "opencore")
	main := importertest.Image(t, filepath.Join(data, "disk-0.qcow2"), "qcow2", 64*mib, "macos-disk")
	vars := importertest.Image(t, filepath.Join(data, "efi_vars.fd"), "raw", 2*mib, "efivars")

	res := importAndCheck(t, im, src, importer.Options{}, want{
		os: vm.OSOther, backend: vm.BackendQEMU, arch: vm.ArchAMD64, boot: vm.BootEFI,
		cpus: 8, memory: 8 * vm.GiB,
		disks: []string{efiDisk, main},
		files: map[string]string{vm.EFIVarsFile: vars},
		notBrought: []string{"Penryn", "+ssse3", "OVMF.qcow2", "-usbdevice keyboard", "vmport=off", "vmxnet3",
			"vmware-svga", "NVMe", "USB interface", "removable CD", "notes", "icon", "clock in local time", "USB device sharing"},
	})
	c := res.Info.Config
	if res.Info.Name != "macOS 12 X86-64 (config only)" {
		t.Errorf("name = %q, want UTM's Information.Name", res.Info.Name)
	}
	if !c.Clipboard || !c.Audio || c.Network.Mode != vm.NetNAT {
		t.Errorf("clipboard %v audio %v network %v", c.Clipboard, c.Audio, c.Network.Mode)
	}
	if strings.EqualFold(c.Network.MAC, "F2:58:BE:A6:38:B1") {
		t.Error("the MAC address was kept without --keep-mac")
	}
	for _, m := range res.Methods {
		if m != importer.MethodConverted {
			t.Errorf("a qcow2 disk came over %s, not converted", m)
		}
	}

	// Again, keeping the MAC address: a second VM, with a note saying why;
	// this time efi_vars.fd is qcow2, as UTM has written it since 2022, and
	// comes over converted to raw.
	os.Remove(filepath.Join(data, "efi_vars.fd"))
	vars = importertest.Image(t, filepath.Join(data, "efi_vars.fd"), "qcow2", 2*mib, "efivars-qcow2")
	res = importAndCheck(t, im, src, importer.Options{KeepMAC: true}, want{
		os: vm.OSOther, backend: vm.BackendQEMU, arch: vm.ArchAMD64, boot: vm.BootEFI,
		cpus: 8, memory: 8 * vm.GiB, disks: []string{efiDisk, main},
		files: map[string]string{vm.EFIVarsFile: vars},
	})
	if res.Info.Name != "macOS 12 X86-64 (config only) 2" {
		t.Errorf("second import named %q", res.Info.Name)
	}
	if res.Info.Config.Network.MAC != "f2:58:be:a6:38:b1" || !strings.Contains(strings.Join(res.Plan.Notes, " "), "at the same time") {
		t.Errorf("keep-mac: mac %q notes %q", res.Info.Config.Network.MAC, res.Plan.Notes)
	}
}

// TestImportUTMFixtureLegacyPPC: UTM 3's real Mac OS 9 (ppc) bundle
// cannot run here; the error says why instead of making a VM.
func TestImportUTMFixtureLegacyPPC(t *testing.T) {
	im, lib := newImporter(t)
	fx := importertest.FixturesDir(t)
	src := filepath.Join(fx, "utm", "legacy-v2-ppc-real.utm")
	_, err := im.Import(context.Background(), src, importer.Options{})
	if err == nil || !strings.Contains(err.Error(), "ppc") || !strings.Contains(err.Error(), "x86_64 and arm64") {
		t.Fatalf("import of a ppc VM: %v", err)
	}
	if infos, _ := lib.List(context.Background()); len(infos) != 0 {
		t.Errorf("a failed import left %d VMs", len(infos))
	}
}

// TestImportUTMLegacyX86 maps a UTM 3 QEMU bundle (Images/, legacy keys).
func TestImportUTMLegacyX86(t *testing.T) {
	im, _ := newImporter(t)
	src := filepath.Join(t.TempDir(), "Old Debian.utm")
	disk := importertest.Image(t, filepath.Join(src, "Images", "debian.qcow2"), "qcow2", 32*mib, "legacy")
	importertest.WritePlist(t, filepath.Join(src, "config.plist"), map[string]any{
		"ConfigurationVersion": 2,
		"Info":                 map[string]any{"Icon": "debian"},
		"System":               map[string]any{"Architecture": "x86_64", "CPUCount": 3, "Memory": 1536, "BootUefi": true, "Target": "q35", "CPU": "default", "AddArgs": []string{"-vga std"}},
		"Drives":               []any{map[string]any{"ImagePath": "debian.qcow2", "ImageType": "disk", "InterfaceType": "virtio"}, map[string]any{"ImageType": "cd", "Removable": true}},
		"Networking":           map[string]any{"NetworkMode": "emulated", "NetworkCardMAC": "52:54:00:11:22:33"},
		"Sound":                map[string]any{"SoundEnabled": false},
		"Sharing":              map[string]any{"ClipboardSharing": true},
	}, plist.XMLFormat)
	importAndCheck(t, im, src, importer.Options{}, want{
		os: vm.OSLinux, backend: vm.BackendQEMU, arch: vm.ArchAMD64, boot: vm.BootEFI,
		cpus: 3, memory: 1536 * vm.MiB, disks: []string{disk},
		notBrought: []string{"-vga std", "removable cd drive", "legacy format"},
	})
}

// utmAppleBundle lays out a UTM 4 Apple-backend bundle.
func utmAppleBundle(t *testing.T, dir string, system, virt map[string]any, drives []any) {
	importertest.WritePlist(t, filepath.Join(dir, "config.plist"), map[string]any{
		"Backend": "Apple", "ConfigurationVersion": 4,
		"Information":    map[string]any{"Name": filepath.Base(strings.TrimSuffix(dir, ".utm")), "Icon": "linux", "IconCustom": false, "UUID": "0F6B1F7C-1F47-4C35-9D2E-2F7A0A1B2C3D"},
		"System":         system,
		"Virtualization": virt,
		"Drive":          drives,
		"Display":        []any{map[string]any{"WidthPixels": 1920, "HeightPixels": 1200, "PixelsPerInch": 144, "DynamicResolution": false}},
		"Network":        []any{map[string]any{"Mode": "Bridged", "BridgeInterface": "en0", "MacAddress": "5A:94:EF:E4:0C:EE"}},
		"Serial":         []any{},
	}, plist.XMLFormat)
}

// TestImportUTMAppleMacOS: the identity (hardware model, machine
// identifier, auxiliary storage) comes over with the disk; UTM's CPU count
// 0 becomes a real count.
func TestImportUTMAppleMacOS(t *testing.T) {
	im, _ := newImporter(t)
	src := filepath.Join(t.TempDir(), "Sonoma.utm")
	model, id := importertest.Identity(t)
	disk := importertest.Image(t, filepath.Join(src, "Data", "8A1B2C3D-0000-4000-8000-000000000001.img"), "raw", 48*mib, "macos")
	aux := importertest.Image(t, filepath.Join(src, "Data", "AuxiliaryStorage"), "raw", 1*mib, "nvram")
	utmAppleBundle(t, src,
		map[string]any{"Architecture": "aarch64", "CPUCount": 0, "MemorySize": 6144,
			"Boot":        map[string]any{"OperatingSystem": "macOS", "UEFIBoot": false},
			"MacPlatform": map[string]any{"HardwareModel": model, "MachineIdentifier": id, "AuxiliaryStoragePath": "AuxiliaryStorage"}},
		map[string]any{"Audio": true, "Balloon": true, "Entropy": true, "ClipboardSharing": true, "Keyboard": "Mac", "Pointer": "Trackpad"},
		[]any{map[string]any{"Identifier": "8A1B2C3D-0000-4000-8000-000000000001", "ImageName": "8A1B2C3D-0000-4000-8000-000000000001.img", "ReadOnly": false, "Nvme": false}})
	res := importAndCheck(t, im, src, importer.Options{HostCPUs: 6}, want{
		os: vm.OSMacOS, backend: vm.BackendVZ, arch: vm.ArchARM64, boot: vm.BootMacOS,
		cpus: 6, memory: 6 * vm.GiB, disks: []string{disk},
		files:      map[string]string{vm.AuxFile: aux, vm.HardwareFile: sumOf(t, model), vm.MachineIDFile: sumOf(t, id)},
		notBrought: []string{"shared folders"},
	})
	c := res.Info.Config
	if c.Display != (vm.Display{Width: 1920, Height: 1200, PPI: 144, AutoResize: false}) {
		t.Errorf("display = %+v", c.Display)
	}
	if c.Network.Mode != vm.NetBridged || c.Network.Interface != "en0" || !c.Audio || !c.Clipboard {
		t.Errorf("network %+v audio %v clipboard %v", c.Network, c.Audio, c.Clipboard)
	}

	// Without its auxiliary storage a macOS guest does not boot: refused.
	os.Remove(filepath.Join(src, "Data", "AuxiliaryStorage"))
	if _, err := im.Import(context.Background(), src, importer.Options{Name: "no-aux"}); err == nil || !strings.Contains(err.Error(), "AuxiliaryStorage") {
		t.Errorf("import without the auxiliary storage: %v", err)
	}
}

// TestImportUTMAppleLinux: an Apple-backend Linux VM with EFI, imported to
// each backend; QEMU goes without Apple's EFI variable store and says so.
func TestImportUTMAppleLinux(t *testing.T) {
	im, _ := newImporter(t)
	src := filepath.Join(t.TempDir(), "Fedora.utm")
	disk := importertest.Image(t, filepath.Join(src, "Data", "disk.img"), "raw", 40*mib, "fedora")
	vars := importertest.Image(t, filepath.Join(src, "Data", "efi_vars.fd"), "raw", 1*mib, "vzefi")
	_, id := importertest.Identity(t)
	utmAppleBundle(t, src,
		map[string]any{"Architecture": "aarch64", "CPUCount": 4, "MemorySize": 4096,
			"Boot":            map[string]any{"OperatingSystem": "Linux", "UEFIBoot": true, "EfiVariableStoragePath": "efi_vars.fd"},
			"GenericPlatform": map[string]any{"machineIdentifier": id}},
		map[string]any{"Audio": false, "ClipboardSharing": true, "Rosetta": true},
		[]any{map[string]any{"Identifier": "A", "ImageName": "disk.img", "ReadOnly": false, "Nvme": true},
			map[string]any{"Identifier": "B", "ReadOnly": true}})
	res := importAndCheck(t, im, src, importer.Options{Backend: vm.BackendVZ}, want{
		os: vm.OSLinux, backend: vm.BackendVZ, arch: vm.ArchARM64, boot: vm.BootEFI, cpus: 4, memory: 4 * vm.GiB,
		disks: []string{disk}, files: map[string]string{vm.EFIVarsFile: vars, vm.MachineIDFile: sumOf(t, id)},
		notBrought: []string{"external drive (B)"},
	})
	if !res.Info.Config.Rosetta {
		t.Error("Rosetta was dropped on the vz backend")
	}
	res = importAndCheck(t, im, src, importer.Options{Backend: vm.BackendQEMU, Name: "Fedora on QEMU"}, want{
		os: vm.OSLinux, backend: vm.BackendQEMU, arch: vm.ArchARM64, boot: vm.BootEFI, cpus: 4, memory: 4 * vm.GiB,
		disks: []string{disk}, notBrought: []string{"EFI variables, in Apple's format", "Rosetta"},
	})
	if _, err := os.Stat(res.Info.Bundle().EFIVarsPath()); err == nil {
		t.Error("QEMU got Apple's EFI variable store")
	}
}

// TestImportUTMQEMUKernelBoot: a QEMU-backend arm64 VM booting a kernel
// and initrd held in the bundle, with the command line from -append.
func TestImportUTMQEMUKernelBoot(t *testing.T) {
	im, _ := newImporter(t)
	src := filepath.Join(t.TempDir(), "Alpine.utm")
	disk := importertest.Image(t, filepath.Join(src, "Data", "root.qcow2"), "qcow2", 16*mib, "alpine")
	importertest.WriteFile(t, filepath.Join(src, "Data", "vmlinuz"), []byte("kernel bytes"))
	importertest.WriteFile(t, filepath.Join(src, "Data", "initrd.gz"), []byte("initrd bytes"))
	importertest.WritePlist(t, filepath.Join(src, "config.plist"), map[string]any{
		"Backend": "QEMU", "ConfigurationVersion": 4,
		"Information": map[string]any{"Name": "Alpine", "Icon": "linux", "IconCustom": false, "UUID": "X"},
		"System":      map[string]any{"Architecture": "aarch64", "Target": "virt", "CPU": "default", "CPUCount": 2, "MemorySize": 1024},
		"QEMU":        map[string]any{"UEFIBoot": false, "PS2Controller": false, "AdditionalArguments": []string{`-append "console=ttyAMA0 root=/dev/vda"`, "-device virtio-rng-pci"}},
		"Drive": []any{
			map[string]any{"Identifier": "k", "ImageName": "vmlinuz", "ImageType": "LinuxKernel", "Interface": "None"},
			map[string]any{"Identifier": "i", "ImageName": "initrd.gz", "ImageType": "LinuxInitrd", "Interface": "None"},
			map[string]any{"Identifier": "d", "ImageName": "root.qcow2", "ImageType": "Disk", "Interface": "VirtIO"},
		},
		"Display": []any{map[string]any{"Hardware": "virtio-gpu-pci"}},
		"Network": []any{map[string]any{"Mode": "Shared", "Hardware": "virtio-net-pci", "PortForward": []any{map[string]any{"Protocol": "TCP", "HostPort": 2222, "GuestPort": 22}}}},
		"Sharing": map[string]any{"DirectoryShareMode": "VirtFS", "ClipboardSharing": false},
		"Sound":   []any{},
	}, plist.XMLFormat)
	res := importAndCheck(t, im, src, importer.Options{}, want{
		os: vm.OSLinux, backend: vm.BackendQEMU, arch: vm.ArchARM64, boot: vm.BootLinux, cpus: 2, memory: 1 * vm.GiB,
		disks:      []string{disk},
		files:      map[string]string{vm.KernelFile: sumOf(t, []byte("kernel bytes")), vm.InitrdFile: sumOf(t, []byte("initrd bytes"))},
		notBrought: []string{"shared folder (VirtFS)", "extra QEMU arguments -device virtio-rng-pci"},
	})
	if got := res.Info.Config.Network.Forwards; len(got) != 1 || got[0] != "2222:22" {
		t.Errorf("UTM's port forward came over as %q, want [2222:22]", got)
	}
	b := res.Info.Config.Boot
	if b.Cmdline != "console=ttyAMA0 root=/dev/vda" || b.Kernel != filepath.Join(res.Info.Dir, vm.KernelFile) || b.Initrd != filepath.Join(res.Info.Dir, vm.InitrdFile) {
		t.Errorf("boot = %+v", b)
	}
	for _, nb := range res.Plan.NotBrought {
		if strings.Contains(nb, "-append") {
			t.Errorf("the kernel command line is listed as not brought over: %q", nb)
		}
	}
}

// TestImportTartFixture: Tart's real macOS config around a raw disk and
// nvram.bin; the identity comes from the base64 values.
func TestImportTartFixture(t *testing.T) {
	im, _ := newImporter(t)
	fx := importertest.FixturesDir(t)
	src := filepath.Join(t.TempDir(), "sequoia-base")
	importertest.CopyFile(t, filepath.Join(fx, "tart", "macos-sequoia-base", "config.json"), filepath.Join(src, "config.json"))
	disk := importertest.Image(t, filepath.Join(src, "disk.img"), "raw", 50*mib, "tart-disk")
	nvram := importertest.Image(t, filepath.Join(src, "nvram.bin"), "raw", 1*mib, "tart-nvram")
	model, _ := base64.StdEncoding.DecodeString("YnBsaXN0MDDTAQIDBAQFXxAZRGF0YVJlcHJlc2VudGF0aW9uVmVyc2lvbl8QD1BsYXRmb3JtVmVyc2lvbl8QEk1pbmltdW1TdXBwb3J0ZWRPUxACowYHBxANEAAIDys9UlRYWgAAAAAAAAEBAAAAAAAAAAgAAAAAAAAAAAAAAAAAAABc")
	ecid, _ := base64.StdEncoding.DecodeString("YnBsaXN0MDDRAQJURUNJRBMYcKtvqAvuVAgLEAAAAAAAAAEBAAAAAAAAAAMAAAAAAAAAAAAAAAAAAAAZ")
	res := importAndCheck(t, im, src, importer.Options{}, want{
		os: vm.OSMacOS, backend: vm.BackendVZ, arch: vm.ArchARM64, boot: vm.BootMacOS, cpus: 4, memory: 8 * vm.GiB,
		disks:      []string{disk},
		files:      map[string]string{vm.AuxFile: nvram, vm.HardwareFile: sumOf(t, model), vm.MachineIDFile: sumOf(t, ecid)},
		notBrought: []string{"--dir", "Rosetta"},
	})
	if d := res.Info.Config.Display; d.Width != 2048 || d.Height != 1536 || d.PPI != 144 || !d.AutoResize {
		t.Errorf("display = %+v, want 1024x768 points as 2048x1536 pixels at 144 ppi, refit on", d)
	}
}

// TestImportTartLinux: a Linux Tart VM (EFI nvram), to each backend.
func TestImportTartLinux(t *testing.T) {
	im, _ := newImporter(t)
	src := filepath.Join(t.TempDir(), "ubuntu")
	importertest.WriteFile(t, filepath.Join(src, "config.json"), []byte(`{"version":1,"os":"linux","arch":"arm64","cpuCount":2,"cpuCountMin":2,
		"memorySize":2147483648,"memorySizeMin":2147483648,"macAddress":"7e:3a:10:aa:bb:cc","display":{"width":1024,"height":768},"diskFormat":"raw"}`))
	disk := importertest.Image(t, filepath.Join(src, "disk.img"), "raw", 20*mib, "tart-linux")
	nvram := importertest.Image(t, filepath.Join(src, "nvram.bin"), "raw", 1*mib, "tart-efi")
	importertest.WriteFile(t, filepath.Join(src, "state.vzvmsave"), []byte("saved"))
	res := importAndCheck(t, im, src, importer.Options{Backend: vm.BackendVZ, KeepMAC: true}, want{
		os: vm.OSLinux, backend: vm.BackendVZ, arch: vm.ArchARM64, boot: vm.BootEFI, cpus: 2, memory: 2 * vm.GiB,
		disks: []string{disk}, files: map[string]string{vm.EFIVarsFile: nvram}, notBrought: []string{"suspended state"},
	})
	if c := res.Info.Config; c.Display.AutoResize || c.Network.MAC != "7e:3a:10:aa:bb:cc" {
		t.Errorf("display refit %v (Tart: off for Linux), mac %q", c.Display.AutoResize, c.Network.MAC)
	}
	importAndCheck(t, im, src, importer.Options{Backend: vm.BackendQEMU, Name: "ubuntu-qemu"}, want{
		os: vm.OSLinux, backend: vm.BackendQEMU, arch: vm.ArchARM64, boot: vm.BootEFI, cpus: 2, memory: 2 * vm.GiB,
		disks: []string{disk}, notBrought: []string{"EFI variables (nvram.bin), in Apple's format"},
	})
}

// TestImportVirtualBuddy: a macOS .vbvm with a binary Config.plist, two
// managed disks and a shared folder; a Linux one with an XML plist.
func TestImportVirtualBuddy(t *testing.T) {
	im, _ := newImporter(t)
	src := filepath.Join(t.TempDir(), "Ventura.vbvm")
	model, id := importertest.Identity(t)
	importertest.WriteFile(t, filepath.Join(src, "HardwareModel"), model)
	importertest.WriteFile(t, filepath.Join(src, "MachineIdentifier"), id)
	aux := importertest.Image(t, filepath.Join(src, "AuxiliaryStorage"), "raw", 1*mib, "vb-aux")
	boot := importertest.Image(t, filepath.Join(src, "Disk.img"), "raw", 30*mib, "vb-boot")
	extra := importertest.Image(t, filepath.Join(src, "Data.img"), "raw", 8*mib, "vb-data")
	shared := t.TempDir()
	managed := func(file string, boot bool) map[string]any {
		return map[string]any{"id": file, "isBootVolume": boot, "isEnabled": true, "isSavedStateClone": false, "isReadOnly": false, "isUSBMassStorageDevice": !boot,
			"backing": map[string]any{"managedImage": map[string]any{"_0": map[string]any{"id": file, "filename": file, "size": 1, "format": 0}}}}
	}
	importertest.WritePlist(t, filepath.Join(src, ".vbdata", "Config.plist"), map[string]any{
		"version": 0, "systemType": "mac", "guestAdditionsEnabled": true, "rosettaSharingEnabled": false, "captureSystemKeys": true,
		"sharedFolders": []any{map[string]any{"id": "1", "url": map[string]any{"relative": "file://" + shared + "/"}, "isEnabled": true, "isReadOnly": true}},
		"hardware": map[string]any{"cpuCount": 4, "memorySize": uint64(8 << 30),
			"pointingDevice": map[string]any{"kind": 1}, "keyboardDevice": map[string]any{"kind": 1},
			"displayDevices":  []any{map[string]any{"id": "d", "name": "Display", "width": 2560, "height": 1600, "pixelsPerInch": 220, "automaticallyReconfiguresDisplay": true}},
			"networkDevices":  []any{map[string]any{"id": "Default", "name": "NAT", "kind": 0, "macAddress": "66:77:88:99:aa:bb"}},
			"soundDevices":    []any{map[string]any{"id": "s", "name": "Sound", "enableOutput": true, "enableInput": false}},
			"NVRAM":           []any{map[string]any{"name": "boot-args", "value": "-v"}},
			"_storageDevices": []any{managed("Disk", true), managed("Data", false)},
		},
	}, plist.BinaryFormat)
	res := importAndCheck(t, im, src, importer.Options{}, want{
		os: vm.OSMacOS, backend: vm.BackendVZ, arch: vm.ArchARM64, boot: vm.BootMacOS, cpus: 4, memory: 8 * vm.GiB,
		disks:      []string{boot, extra},
		files:      map[string]string{vm.AuxFile: aux, vm.HardwareFile: sumOf(t, model), vm.MachineIDFile: sumOf(t, id)},
		notBrought: []string{"USB mass storage", "1 NVRAM variables"},
	})
	c := res.Info.Config
	if len(c.Shares) != 1 || c.Shares[0].Path != shared || !c.Shares[0].ReadOnly || !c.Shares[0].Automount {
		t.Errorf("shares = %+v", c.Shares)
	}
	if c.Display.Width != 2560 || c.Display.PPI != 220 || !c.Clipboard || !c.Audio || res.Info.Name != "Ventura" {
		t.Errorf("display %+v clipboard %v audio %v name %q", c.Display, c.Clipboard, c.Audio, res.Info.Name)
	}

	lin := filepath.Join(t.TempDir(), "Debian.vbvm")
	linDisk := importertest.Image(t, filepath.Join(lin, "Disk.img"), "raw", 12*mib, "vb-linux")
	importertest.WriteFile(t, filepath.Join(lin, ".vbdata", "nvram"), []byte("vz efi store"))
	importertest.WritePlist(t, filepath.Join(lin, ".vbdata", "Config.plist"), map[string]any{
		"version": 0, "systemType": "linux", "rosettaSharingEnabled": true,
		"hardware": map[string]any{"cpuCount": 2, "memorySize": uint64(4 << 30),
			"networkDevices": []any{map[string]any{"id": "en1", "name": "Bridge", "kind": 1, "macAddress": "66:77:88:99:aa:cc"}}},
	}, plist.XMLFormat)
	res = importAndCheck(t, im, lin, importer.Options{Backend: vm.BackendVZ}, want{
		os: vm.OSLinux, backend: vm.BackendVZ, arch: vm.ArchARM64, boot: vm.BootEFI, cpus: 2, memory: 4 * vm.GiB,
		disks: []string{linDisk}, files: map[string]string{vm.EFIVarsFile: sumOf(t, []byte("vz efi store"))},
	})
	if c := res.Info.Config; !c.Rosetta || c.Network.Mode != vm.NetBridged || c.Network.Interface != "en1" {
		t.Errorf("rosetta %v network %+v", c.Rosetta, c.Network)
	}
}

// TestImportDiskImages: every disk image format, by its header whatever
// its name, comes over with the same bytes; a qcow2 named .img is
// converted, never copied as raw.
func TestImportDiskImages(t *testing.T) {
	im, _ := newImporter(t)
	for _, tc := range []struct {
		name, file, format string
		extra              []string
	}{
		{"raw", "disk.raw", "raw", nil},
		{"qcow2 named .img", "looks-raw.img", "qcow2", nil},
		{"vmdk", "disk.vmdk", "vmdk", nil},
		{"split vmdk", "split.vmdk", "vmdk", []string{"-o", "subformat=twoGbMaxExtentSparse"}},
		{"stream-optimized vmdk", "stream.vmdk", "vmdk", []string{"-o", "subformat=streamOptimized"}},
		{"vdi", "disk.vdi", "vdi", nil},
		{"vhdx", "disk.vhdx", "vhdx", nil},
		{"vhd", "disk.vhd", "vpc", []string{"-o", "force_size=on"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), tc.file)
			sum := importertest.Image(t, src, tc.format, 24*mib, "image-"+tc.format, tc.extra...)
			img, err := importer.ProbeImage(src)
			if err != nil || string(img.Format) != tc.format {
				t.Fatalf("probe: %+v %v, want %s", img, err, tc.format)
			}
			res := importAndCheck(t, im, filepath.Dir(src)+"/"+tc.file, importer.Options{Name: tc.name}, want{
				os: vm.OSLinux, backend: vm.DefaultBackend(), arch: vm.HostArch(), boot: vm.BootEFI, cpus: vm.DefaultCPUs, memory: vm.DefaultMem,
				disks: []string{sum}, notBrought: []string{"holds no settings"},
			})
			wantMethod := importer.MethodConverted
			if tc.format == "raw" {
				wantMethod = importer.MethodSparse
			}
			if res.Methods[0] != wantMethod && !(wantMethod == importer.MethodSparse && res.Methods[0] == importer.MethodClone) {
				t.Errorf("came over %s, want %s", res.Methods[0], wantMethod)
			}
		})
	}
}

// TestImportOVA reads CPUs, memory and the disk from an .ova made as
// VirtualBox makes them (a tar: .ovf first, then a stream-optimized VMDK).
func TestImportOVA(t *testing.T) {
	im, _ := newImporter(t)
	dir := t.TempDir()
	vmdk := filepath.Join(dir, "box-disk001.vmdk")
	sum := importertest.Image(t, vmdk, "vmdk", 20*mib, "ova", "-o", "subformat=streamOptimized")
	ovf := `<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
 <References><File ovf:id="file1" ovf:href="box-disk001.vmdk"/></References>
 <DiskSection><Disk ovf:capacity="20" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"/></DiskSection>
 <VirtualSystem ovf:id="Ubuntu Box"><Name>Ubuntu Box</Name>
  <OperatingSystemSection ovf:id="94"><Description>Ubuntu_64</Description></OperatingSystemSection>
  <VirtualHardwareSection>
   <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>3</rasd:VirtualQuantity></Item>
   <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>
  </VirtualHardwareSection>
 </VirtualSystem>
</Envelope>`
	importertest.WriteFile(t, filepath.Join(dir, "box.ovf"), []byte(ovf))
	ova := filepath.Join(t.TempDir(), "box.ova")
	if out, err := execTar(dir, ova, "box.ovf", "box-disk001.vmdk"); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	importAndCheck(t, im, ova, importer.Options{}, want{
		os: vm.OSLinux, backend: vm.DefaultBackend(), arch: vm.HostArch(), boot: vm.BootEFI, cpus: 3, memory: 2 * vm.GiB,
		disks: []string{sum}, notBrought: []string{"OVF's virtual hardware"},
	})
}

// TestFailedImportLeavesNothing: a corrupt disk or a cancel midway leaves
// no VM and no half-made folder in the library.
func TestFailedImportLeavesNothing(t *testing.T) {
	im, lib := newImporter(t)
	src := filepath.Join(t.TempDir(), "broken.qcow2")
	importertest.Image(t, src, "qcow2", 16*mib, "broken")
	f, _ := os.OpenFile(src, os.O_WRONLY, 0)
	f.WriteAt([]byte{0, 0, 0, 99}, 4) // qcow2 version 99: qemu-img cannot read it
	f.Close()
	if _, err := im.Import(context.Background(), src, importer.Options{}); err == nil {
		t.Error("a truncated qcow2 was imported")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	good := filepath.Join(t.TempDir(), "good.raw")
	importertest.Image(t, good, "raw", 16*mib, "good")
	if _, err := im.Import(ctx, good, importer.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled import: %v", err)
	}
	entries, _ := os.ReadDir(lib.Root)
	if len(entries) != 0 {
		t.Errorf("the library holds %v after failed imports", entries)
	}
}

// TestQCOW2NeedsConverter: without qemu-img a qcow2 is refused with what to
// install, never copied as if it were raw.
func TestQCOW2NeedsConverter(t *testing.T) {
	im, _ := newImporter(t)
	im.Converter = nil
	src := filepath.Join(t.TempDir(), "disk.img")
	importertest.Image(t, src, "qcow2", 8*mib, "q")
	_, err := im.Import(context.Background(), src, importer.Options{})
	if !errors.Is(err, importer.ErrNeedsConverter) || !strings.Contains(err.Error(), "qemu-utils") {
		t.Errorf("qcow2 without a converter: %v", err)
	}
}

// TestAppleImageFormatsAreRefusedWithHowToConvert: an ASIF disk (macOS 26)
// in a UTM Apple bundle is found by its header and refused with how to
// convert it, not copied as if it were raw.
func TestAppleImageFormatsAreRefusedWithHowToConvert(t *testing.T) {
	im, lib := newImporter(t)
	src := filepath.Join(t.TempDir(), "Tahoe.utm")
	disk := filepath.Join(src, "Data", "disk.img")
	importertest.WriteFile(t, disk, append([]byte("shdw\x00\x00\x00\x01"), make([]byte, 4088)...))
	model, id := importertest.Identity(t)
	importertest.Image(t, filepath.Join(src, "Data", "AuxiliaryStorage"), "raw", 1*mib, "aux")
	utmAppleBundle(t, src,
		map[string]any{"Architecture": "aarch64", "CPUCount": 4, "MemorySize": 8192,
			"Boot":        map[string]any{"OperatingSystem": "macOS"},
			"MacPlatform": map[string]any{"HardwareModel": model, "MachineIdentifier": id, "AuxiliaryStoragePath": "AuxiliaryStorage"}},
		map[string]any{}, []any{map[string]any{"Identifier": "D", "ImageName": "disk.img"}})
	if img, err := importer.ProbeImage(disk); err != nil || img.Format != importer.FormatASIF {
		t.Errorf("probe of an ASIF image: %+v %v", img, err)
	}
	_, err := im.Import(context.Background(), src, importer.Options{})
	if err == nil || !strings.Contains(err.Error(), "asif") || !strings.Contains(err.Error(), "diskutil image convert") {
		t.Errorf("import of an ASIF disk: %v", err)
	}
	if entries, _ := os.ReadDir(lib.Root); len(entries) != 0 {
		t.Errorf("the refused import left %v", entries)
	}
}

func TestDetectRefusesUnknownFolder(t *testing.T) {
	_, err := importer.Detect(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "config.plist") {
		t.Errorf("Detect of an empty folder: %v", err)
	}
}

// TestNotADiskImageIsRefusedWithWhatItIs: files people drop by mistake
// are named for what they are, with what to do, and nothing is made.
func TestNotADiskImageIsRefusedWithWhatItIs(t *testing.T) {
	im, lib := newImporter(t)
	iso := make([]byte, 0x9000)
	copy(iso[0x8001:], "CD001")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"Debian.utm.zip", append([]byte("PK\x03\x04"), make([]byte, 1020)...), "unzip it first"},
		{"disk.img.gz", append([]byte("\x1f\x8b\x08\x00"), make([]byte, 1020)...), "decompress it first"},
		{"disk.raw.xz", append([]byte("\xfd7zXZ\x00"), make([]byte, 1018)...), "decompress it first"},
		{"debian-12.iso", iso, "installer ISO"},
		{"notes.txt", []byte("not a disk\n"), "not a disk image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), tc.name)
			importertest.WriteFile(t, src, tc.data)
			_, err := im.Import(context.Background(), src, importer.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("import: %v, want %q", err, tc.want)
			}
			_, _, err = im.ImportDisk(context.Background(), src, filepath.Join(t.TempDir(), "disk.img"), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ImportDisk: %v, want %q", err, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(lib.Root); len(entries) != 0 {
		t.Errorf("refused imports left %v", entries)
	}
}
