package importer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"howett.net/plist"

	"github.com/vivarium-vm/vivarium/vm"
)

// Export formats.
const FormatUTM = "utm"

// ExportResult is a finished export.
type ExportResult struct {
	Path string
	// NotCarried lists what the VM has that the exported bundle does not.
	NotCarried []string
}

// QCOW2Writer writes a raw image as a new qcow2 file, the format UTM keeps
// a QEMU VM's EFI variables in. *qemu.ImageTool is one.
type QCOW2Writer interface {
	ToQCOW2(ctx context.Context, src, dst string) error
}

// ExportOptions adjust an export.
type ExportOptions struct {
	// QCOW2 writes a QEMU VM's EFI variables as UTM keeps them; without it
	// they stay behind and UTM starts with fresh ones.
	QCOW2 QCOW2Writer
	// Progress reports bytes of disk written, out of the total.
	Progress vm.Progress
}

// ExportUTM writes the stopped VM in b as a UTM 4 bundle dir/<Name>.utm:
// config.plist for UTM's Apple backend (vz VMs) or QEMU backend (qemu VMs)
// and Data/ with the disks (cloned where the filesystem can), macOS
// identity and stores. It is built in a temporary folder beside it and
// renamed into place.
func ExportUTM(ctx context.Context, b vm.Bundle, dir string, opts ExportOptions) (*ExportResult, error) {
	progress := opts.Progress
	lock, err := b.TryLock()
	if err != nil {
		return nil, fmt.Errorf("cannot export %q while it runs: %w; stop it first", b.Name(), vm.ErrRunning)
	}
	defer lock.Unlock()
	c, err := vm.LoadConfig(b.ConfigPath())
	if err != nil {
		return nil, fmt.Errorf("cannot export %q: %w", b.Name(), err)
	}
	c.Name = b.Name()
	final := filepath.Join(dir, c.Name+utmBundleExt)
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("%s already exists: %w; choose another folder or remove it", final, fs.ErrExist)
	}
	tmp, err := os.MkdirTemp(dir, "."+c.Name+".utm-")
	if err != nil {
		return nil, fmt.Errorf("export folder %s: %w", dir, err)
	}
	res := &ExportResult{Path: final}
	fail := func(err error) (*ExportResult, error) {
		os.RemoveAll(tmp)
		return nil, err
	}
	data := filepath.Join(tmp, utmDataDir)
	if err := os.Mkdir(data, 0o755); err != nil {
		return fail(err)
	}
	var total, done int64
	for _, d := range c.Disks {
		total += int64(d.Size)
	}
	var drives []map[string]any
	for _, d := range c.Disks {
		id := newUUID()
		name := id + ".img"
		var p vm.Progress
		if progress != nil {
			base := done
			p = func(n, _ int64) { progress(base+n, total) }
		}
		if _, err := vm.CopyDisk(ctx, b.DiskPath(d.File), filepath.Join(data, name), p); err != nil {
			return fail(fmt.Errorf("exporting %s: %w", d.File, err))
		}
		done += int64(d.Size)
		drive := map[string]any{"Identifier": id, "ImageName": name, "ReadOnly": d.ReadOnly}
		if c.Backend == vm.BackendQEMU {
			drive["ImageType"], drive["Interface"], drive["InterfaceVersion"] = "Disk", "VirtIO", 1
		} else {
			drive["Nvme"] = false
		}
		drives = append(drives, drive)
	}
	copyIn := func(src, name string) error {
		if _, err := os.Stat(src); err != nil {
			return err
		}
		_, err := vm.CopyDisk(ctx, src, filepath.Join(data, name), nil)
		return err
	}
	var cfg map[string]any
	switch c.Backend {
	case vm.BackendVZ:
		cfg, err = utmAppleConfig(c, b, copyIn, res)
	default:
		cfg, err = utmQEMUConfig(c, b, copyIn, res)
		if err == nil && c.Boot.Mode == vm.BootEFI {
			utmQEMUVars(ctx, b, data, opts.QCOW2, res)
		}
	}
	if err != nil {
		return fail(err)
	}
	if boot, ok := cfg["bootDrives"].([]map[string]any); ok {
		drives = append(boot, drives...)
		delete(cfg, "bootDrives")
	}
	cfg["Drive"] = drives
	if len(c.Shares) > 0 {
		res.NotCarried = append(res.NotCarried, "shared folders: UTM keeps them in its own settings; add them again in UTM")
	}
	if c.Disposable {
		res.NotCarried = append(res.NotCarried, "always-disposable: in UTM, choose Run without saving changes")
	}
	out, err := plist.MarshalIndent(cfg, plist.XMLFormat, "\t")
	if err != nil {
		return fail(err)
	}
	if err := vm.WriteFileAtomic(filepath.Join(tmp, utmConfigFile), out, 0o644); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	return res, nil
}

func utmInformation(c *vm.Config) map[string]any {
	icon := map[string]string{vm.OSMacOS: "mac", vm.OSLinux: "linux"}[c.OS]
	if icon == "" {
		icon = "generic"
	}
	return map[string]any{"Name": c.Name, "Icon": icon, "IconCustom": false, "UUID": newUUID()}
}

func utmNetworkOut(c *vm.Config, qemu bool) []map[string]any {
	if c.Network.Mode == vm.NetNone {
		return []map[string]any{}
	}
	n := map[string]any{"Mode": "Shared", "MacAddress": strings.ToUpper(c.Network.MAC)}
	if c.Network.Mode == vm.NetBridged {
		n["Mode"], n["BridgeInterface"] = "Bridged", c.Network.Interface
	}
	if qemu {
		// QEMU's user networking, as Vivarium's qemu NAT is (UTM's Shared
		// is vmnet, which needs UTM's entitlements).
		if c.Network.Mode == vm.NetNAT {
			n["Mode"] = "Emulated"
		}
		n["Hardware"], n["IsolateFromHost"], n["PortForward"] = "virtio-net-pci", false, []any{}
	}
	return []map[string]any{n}
}

func utmAppleConfig(c *vm.Config, b vm.Bundle, copyIn func(src, name string) error, res *ExportResult) (map[string]any, error) {
	sys := map[string]any{"Architecture": utmArchName(c.Arch), "CPUCount": c.CPUs, "MemorySize": int64(c.Memory / vm.MiB)}
	boot := map[string]any{"UEFIBoot": c.Boot.Mode == vm.BootEFI}
	switch c.OS {
	case vm.OSMacOS:
		boot["OperatingSystem"] = "macOS"
		model, err1 := os.ReadFile(b.HardwareModelPath())
		id, err2 := os.ReadFile(b.MachineIDPath())
		if err := errors.Join(err1, err2, copyIn(b.AuxPath(), utmAuxFile)); err != nil {
			return nil, fmt.Errorf("the macOS identity (hardware model, machine identifier, auxiliary storage) is incomplete, and UTM could not boot it: %w", err)
		}
		sys["MacPlatform"] = map[string]any{"HardwareModel": model, "MachineIdentifier": id, "AuxiliaryStoragePath": utmAuxFile}
	case vm.OSLinux:
		boot["OperatingSystem"] = "Linux"
		if id, err := os.ReadFile(b.MachineIDPath()); err == nil {
			sys["GenericPlatform"] = map[string]any{"machineIdentifier": id}
		}
	default:
		boot["OperatingSystem"] = "None"
	}
	switch c.Boot.Mode {
	case vm.BootEFI:
		boot["EfiVariableStoragePath"] = utmEFIVarsFile
		if err := copyIn(b.EFIVarsPath(), utmEFIVarsFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	case vm.BootLinux:
		if err := errors.Join(copyIn(c.Boot.Kernel, "vmlinuz"), initrdIn(c, copyIn)); err != nil {
			return nil, fmt.Errorf("the kernel or initrd: %w", err)
		}
		boot["LinuxKernelPath"], boot["LinuxCommandLine"] = "vmlinuz", c.Boot.Cmdline
		if c.Boot.Initrd != "" {
			boot["LinuxInitialRamdiskPath"] = "initrd"
		}
	}
	sys["Boot"] = boot
	keyboard, pointer := "Generic", "Mouse"
	if c.OS == vm.OSMacOS {
		keyboard, pointer = "Mac", "Trackpad"
	}
	virt := map[string]any{"Audio": c.Audio, "Balloon": true, "Entropy": true, "ClipboardSharing": c.Clipboard, "Keyboard": keyboard, "Pointer": pointer}
	if c.OS == vm.OSLinux {
		virt["Rosetta"] = c.Rosetta
	}
	if c.Boot.ISO != "" {
		res.NotCarried = append(res.NotCarried, "the install ISO "+c.Boot.ISO+": attach it in UTM if still needed")
	}
	return map[string]any{
		"Backend": utmBackendApple, "ConfigurationVersion": utmConfigVersion,
		"Information": utmInformation(c), "System": sys, "Virtualization": virt,
		"Display": []map[string]any{{"WidthPixels": c.Display.Width, "HeightPixels": c.Display.Height, "PixelsPerInch": c.Display.PPI, "DynamicResolution": c.Display.AutoResize}},
		"Network": utmNetworkOut(c, false),
		"Serial":  []any{},
	}, nil
}

func initrdIn(c *vm.Config, copyIn func(src, name string) error) error {
	if c.Boot.Initrd == "" {
		return nil
	}
	return copyIn(c.Boot.Initrd, "initrd")
}

func utmQEMUConfig(c *vm.Config, b vm.Bundle, copyIn func(src, name string) error, res *ExportResult) (map[string]any, error) {
	target, display := "q35", "virtio-vga"
	if c.Arch == vm.ArchARM64 {
		target, display = "virt", "virtio-gpu-pci"
	}
	var extra []string
	var bootDrives []map[string]any
	if c.Boot.Mode == vm.BootLinux {
		if err := errors.Join(copyIn(c.Boot.Kernel, "vmlinuz"), initrdIn(c, copyIn)); err != nil {
			return nil, fmt.Errorf("the kernel or initrd: %w", err)
		}
		bootDrives = append(bootDrives, map[string]any{"Identifier": newUUID(), "ImageName": "vmlinuz", "ImageType": "LinuxKernel", "Interface": "None", "InterfaceVersion": 1, "ReadOnly": true})
		if c.Boot.Initrd != "" {
			bootDrives = append(bootDrives, map[string]any{"Identifier": newUUID(), "ImageName": "initrd", "ImageType": "LinuxInitrd", "Interface": "None", "InterfaceVersion": 1, "ReadOnly": true})
		}
		if c.Boot.Cmdline != "" {
			// UTM splits each entry at spaces outside double quotes.
			extra = append(extra, `-append "`+c.Boot.Cmdline+`"`)
		}
	}
	if c.Boot.ISO != "" {
		res.NotCarried = append(res.NotCarried, "the install ISO "+c.Boot.ISO+": attach it to the CD drive in UTM if still needed")
	}
	shareMode := "None"
	if len(c.Shares) > 0 {
		shareMode = "VirtFS"
	}
	sound := []map[string]any{}
	if c.Audio {
		sound = append(sound, map[string]any{"Hardware": "intel-hda"})
	}
	cfg := map[string]any{
		"Backend": utmBackendQEMU, "ConfigurationVersion": utmConfigVersion,
		"Information": utmInformation(c),
		"System": map[string]any{"Architecture": utmArchName(c.Arch), "Target": target, "CPU": "default", "CPUCount": c.CPUs,
			"CPUFlagsAdd": []string{}, "CPUFlagsRemove": []string{}, "ForceMulticore": false, "JITCacheSize": 0, "MemorySize": int64(c.Memory / vm.MiB)},
		"QEMU": map[string]any{"AdditionalArguments": orEmpty(extra), "BalloonDevice": false, "DebugLog": false, "Hypervisor": true, "PS2Controller": false,
			"RNGDevice": true, "RTCLocalTime": false, "TPMDevice": false, "TSO": false, "UEFIBoot": c.Boot.Mode == vm.BootEFI},
		"Input":   map[string]any{"MaximumUsbShare": 3, "UsbBusSupport": "3.0", "UsbSharing": false},
		"Sharing": map[string]any{"ClipboardSharing": c.Clipboard, "DirectoryShareMode": shareMode, "DirectoryShareReadOnly": false},
		"Display": []map[string]any{{"Hardware": display, "DynamicResolution": c.Display.AutoResize, "NativeResolution": false, "UpscalingFilter": "Linear", "DownscalingFilter": "Linear"}},
		"Network": utmNetworkOut(c, true),
		"Serial":  []any{},
		"Sound":   sound,
	}
	cfg["bootDrives"] = bootDrives
	return cfg, nil
}

// utmQEMUVars writes the EFI variables (boot entries) as UTM keeps them:
// Data/efi_vars.fd in qcow2. Without a variable store yet, or without
// qemu-img, UTM makes fresh ones from its template, which the result says.
func utmQEMUVars(ctx context.Context, b vm.Bundle, data string, conv QCOW2Writer, res *ExportResult) {
	why := ""
	switch _, err := os.Stat(b.EFIVarsPath()); {
	case err != nil:
		return // never started: UTM makes its own, as Vivarium would have
	case conv == nil:
		why = "qemu-img is needed to write them as UTM keeps them"
	default:
		if err := conv.ToQCOW2(ctx, b.EFIVarsPath(), filepath.Join(data, utmEFIVarsFile)); err != nil {
			why = err.Error()
		}
	}
	if why != "" {
		os.Remove(filepath.Join(data, utmEFIVarsFile))
		res.NotCarried = append(res.NotCarried, "the EFI variables ("+why+"): UTM makes fresh ones; a guest without a fallback boot loader may need its boot entry again")
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func utmArchName(a string) string {
	if a == vm.ArchARM64 {
		return "aarch64"
	}
	return "x86_64"
}

// newUUID is a random (version 4) UUID in UTM's upper-case form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}
