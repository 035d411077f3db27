package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"howett.net/plist"

	"github.com/vivarium-vm/vivarium/vm"
)

// UTM bundle layout (Name.utm/config.plist, Data/ for version 4, Images/
// for the legacy versions ≤ 3).
const (
	utmConfigFile    = "config.plist"
	utmDataDir       = "Data"
	utmLegacyDir     = "Images"
	utmEFIVarsFile   = "efi_vars.fd"
	utmAuxFile       = "AuxiliaryStorage"
	utmConfigVersion = 4
	utmBackendApple  = "Apple"
	utmBackendQEMU   = "QEMU"
	utmBundleExt     = ".utm"
)

// utmConfig is a UTM 4 config.plist, both backends' keys (a key the other
// backend has stays empty).
type utmConfig struct {
	Backend              string `plist:"Backend"`
	ConfigurationVersion int    `plist:"ConfigurationVersion"`
	Information          struct {
		Name       string `plist:"Name"`
		Icon       string `plist:"Icon"`
		IconCustom bool   `plist:"IconCustom"`
		Notes      string `plist:"Notes"`
		UUID       string `plist:"UUID"`
	} `plist:"Information"`
	System struct {
		Architecture   string   `plist:"Architecture"`
		Target         string   `plist:"Target"`
		CPU            string   `plist:"CPU"`
		CPUFlagsAdd    []string `plist:"CPUFlagsAdd"`
		CPUFlagsRemove []string `plist:"CPUFlagsRemove"`
		CPUCount       int      `plist:"CPUCount"`
		MemorySize     int64    `plist:"MemorySize"` // MiB
		Boot           struct {
			OperatingSystem         string `plist:"OperatingSystem"`
			UEFIBoot                bool   `plist:"UEFIBoot"`
			EfiVariableStoragePath  string `plist:"EfiVariableStoragePath"`
			LinuxKernelPath         string `plist:"LinuxKernelPath"`
			LinuxInitialRamdiskPath string `plist:"LinuxInitialRamdiskPath"`
			LinuxCommandLine        string `plist:"LinuxCommandLine"`
		} `plist:"Boot"`
		MacPlatform *struct {
			HardwareModel        []byte `plist:"HardwareModel"`
			MachineIdentifier    []byte `plist:"MachineIdentifier"`
			AuxiliaryStoragePath string `plist:"AuxiliaryStoragePath"`
		} `plist:"MacPlatform"`
		GenericPlatform *struct {
			MachineIdentifier []byte `plist:"machineIdentifier"`
		} `plist:"GenericPlatform"`
	} `plist:"System"`
	Virtualization *struct {
		Audio            bool  `plist:"Audio"`
		Balloon          bool  `plist:"Balloon"`
		Entropy          bool  `plist:"Entropy"`
		Rosetta          *bool `plist:"Rosetta"`
		ClipboardSharing bool  `plist:"ClipboardSharing"`
	} `plist:"Virtualization"`
	QEMU    *utmQEMU `plist:"QEMU"`
	Sharing *struct {
		DirectoryShareMode     string `plist:"DirectoryShareMode"`
		DirectoryShareReadOnly bool   `plist:"DirectoryShareReadOnly"`
		ClipboardSharing       bool   `plist:"ClipboardSharing"`
	} `plist:"Sharing"`
	Input *struct {
		UsbSharing bool `plist:"UsbSharing"`
	} `plist:"Input"`
	Sound   []struct{ Hardware string } `plist:"Sound"`
	Display []struct {
		Hardware          string `plist:"Hardware"`
		WidthPixels       int    `plist:"WidthPixels"`
		HeightPixels      int    `plist:"HeightPixels"`
		PixelsPerInch     int    `plist:"PixelsPerInch"`
		DynamicResolution *bool  `plist:"DynamicResolution"`
	} `plist:"Display"`
	Drive []struct {
		Identifier string `plist:"Identifier"`
		ImageName  string `plist:"ImageName"`
		ImageType  string `plist:"ImageType"`
		Interface  string `plist:"Interface"`
		ReadOnly   bool   `plist:"ReadOnly"`
		Nvme       bool   `plist:"Nvme"`
	} `plist:"Drive"`
	Network []utmNIC `plist:"Network"`
	Serial  []struct {
		Mode string `plist:"Mode"`
	} `plist:"Serial"`
}

// utmQEMU is the QEMU section of a UTM 4 QEMU VM.
type utmQEMU struct {
	UEFIBoot                bool     `plist:"UEFIBoot"`
	TPMDevice               bool     `plist:"TPMDevice"`
	RTCLocalTime            bool     `plist:"RTCLocalTime"`
	MachinePropertyOverride string   `plist:"MachinePropertyOverride"`
	AdditionalArguments     []string `plist:"AdditionalArguments"`
}

// utmNIC is one network card, either backend.
type utmNIC struct {
	Mode            string           `plist:"Mode"`
	Hardware        string           `plist:"Hardware"`
	MacAddress      string           `plist:"MacAddress"`
	BridgeInterface string           `plist:"BridgeInterface"`
	PortForward     []map[string]any `plist:"PortForward"`
}

// planUTM reads a .utm bundle.
func planUTM(dir string, hostCPUs int, p *Plan) error {
	data, err := os.ReadFile(filepath.Join(dir, utmConfigFile))
	if err != nil {
		return fmt.Errorf("UTM bundle %s: %w", dir, err)
	}
	var stub struct {
		Backend              string `plist:"Backend"`
		ConfigurationVersion int    `plist:"ConfigurationVersion"`
		IsApple              bool   `plist:"isAppleVirtualization"`
	}
	if _, err := plist.Unmarshal(data, &stub); err != nil {
		return fmt.Errorf("UTM bundle %s: config.plist cannot be read: %w", dir, err)
	}
	p.Kind = KindUTM
	p.Name = strings.TrimSuffix(filepath.Base(dir), utmBundleExt)
	switch {
	case stub.IsApple:
		return fmt.Errorf("UTM bundle %s is a UTM 3 Apple-virtualization VM (legacy format): open it once in UTM 4 or later, which updates the bundle, then import it again", dir)
	case stub.Backend == "":
		return planUTMLegacy(dir, data, p)
	case stub.ConfigurationVersion > utmConfigVersion:
		return fmt.Errorf("UTM bundle %s was saved by a newer UTM (configuration version %d; Vivarium reads %d): update Vivarium", dir, stub.ConfigurationVersion, utmConfigVersion)
	}
	var u utmConfig
	if _, err := plist.Unmarshal(data, &u); err != nil {
		return fmt.Errorf("UTM bundle %s: config.plist cannot be read: %w", dir, err)
	}
	if u.Information.Name != "" {
		p.Name = u.Information.Name
	}
	c := p.Config
	arch, err := utmArch(dir, u.System.Architecture)
	if err != nil {
		return err
	}
	c.Arch = arch
	c.CPUs = u.System.CPUCount
	if c.CPUs == 0 {
		c.CPUs = hostCPUs // UTM's "as many as the host's default"
	}
	c.Memory = vm.Size(u.System.MemorySize) * vm.MiB
	data2 := filepath.Join(dir, utmDataDir)
	switch u.Backend {
	case utmBackendApple:
		err = planUTMApple(data2, &u, p)
	case utmBackendQEMU:
		err = planUTMQEMU(data2, &u, p)
	default:
		err = fmt.Errorf("backend %q is neither Apple nor QEMU", u.Backend)
	}
	if err != nil {
		return fmt.Errorf("UTM bundle %s: %w", dir, err)
	}
	utmNetwork(u.Network, p)
	if u.Information.IconCustom {
		p.notBrought("the custom icon %s", u.Information.Icon)
	}
	if strings.TrimSpace(u.Information.Notes) != "" {
		p.notBrought("the VM's notes (UTM's Information › Notes)")
	}
	return nil
}

func utmArch(dir, a string) (string, error) {
	switch a {
	case "aarch64", "arm64":
		return vm.ArchARM64, nil
	case "x86_64", "":
		return vm.ArchAMD64, nil
	}
	return "", fmt.Errorf("UTM bundle %s is a %s VM; Vivarium runs x86_64 and arm64 (aarch64) guests only, so it cannot be imported", dir, a)
}

func planUTMApple(data string, u *utmConfig, p *Plan) error {
	c := p.Config
	c.Backend = vm.BackendVZ
	boot := u.System.Boot
	switch boot.OperatingSystem {
	case "macOS":
		c.OS, c.Boot.Mode = vm.OSMacOS, vm.BootMacOS
		mp := u.System.MacPlatform
		if mp == nil || len(mp.HardwareModel) == 0 || len(mp.MachineIdentifier) == 0 {
			return fmt.Errorf("this macOS VM has no hardware model or machine identifier in config.plist, and a macOS guest without its identity does not boot")
		}
		aux := mp.AuxiliaryStoragePath
		if aux == "" {
			aux = utmAuxFile
		}
		p.Files = append(p.Files,
			Item{Dest: vm.HardwareFile, Data: mp.HardwareModel, What: "the hardware model"},
			Item{Dest: vm.MachineIDFile, Data: mp.MachineIdentifier, What: "the machine identifier"})
		if err := p.addFile(vm.AuxFile, filepath.Join(data, aux), "the auxiliary storage (macOS NVRAM)"); err != nil {
			return err
		}
	case "Linux":
		c.OS = vm.OSLinux
	default:
		c.OS = vm.OSOther
	}
	if c.OS != vm.OSMacOS {
		if gp := u.System.GenericPlatform; gp != nil && len(gp.MachineIdentifier) > 0 {
			p.Files = append(p.Files, Item{Dest: vm.MachineIDFile, Data: gp.MachineIdentifier, What: "the machine identifier"})
		}
		switch {
		case boot.UEFIBoot:
			c.Boot.Mode = vm.BootEFI
			store := boot.EfiVariableStoragePath
			if store == "" {
				store = utmEFIVarsFile
			}
			if _, err := os.Stat(filepath.Join(data, store)); err == nil {
				if err := p.addFile(vm.EFIVarsFile, filepath.Join(data, store), "the EFI variables"); err != nil {
					return err
				}
				p.Files[len(p.Files)-1].VZOnly = true
			}
		case boot.LinuxKernelPath != "":
			c.Boot.Mode = vm.BootLinux
			c.Boot.Cmdline = boot.LinuxCommandLine
			if err := p.addFile(vm.KernelFile, filepath.Join(data, boot.LinuxKernelPath), "the Linux kernel"); err != nil {
				return err
			}
			if boot.LinuxInitialRamdiskPath != "" {
				if err := p.addFile(vm.InitrdFile, filepath.Join(data, boot.LinuxInitialRamdiskPath), "the initial ramdisk"); err != nil {
					return err
				}
			}
		default:
			c.Boot.Mode = vm.BootEFI
		}
	}
	for _, d := range u.Drive {
		if d.ImageName == "" {
			p.notBrought("an external drive (%s): UTM keeps its path outside the bundle; add it again in Settings", d.Identifier)
			continue
		}
		img, err := ProbeImage(filepath.Join(data, d.ImageName))
		if err != nil {
			return err
		}
		p.addDisk(img, d.ReadOnly)
	}
	if len(u.Display) > 0 {
		d := u.Display[0]
		c.Display = vm.Display{Width: d.WidthPixels, Height: d.HeightPixels, PPI: d.PixelsPerInch, AutoResize: d.DynamicResolution == nil || *d.DynamicResolution}
		if len(u.Display) > 1 {
			p.notBrought("%d more displays: Vivarium gives a VM one", len(u.Display)-1)
		}
	}
	if v := u.Virtualization; v != nil {
		c.Audio = v.Audio
		c.Clipboard = v.ClipboardSharing
		c.Rosetta = v.Rosetta != nil && *v.Rosetta && c.OS == vm.OSLinux
	}
	p.notBrought("shared folders: UTM keeps them in its own settings, not in the bundle; add them again in Settings › Sharing")
	if len(u.Serial) > 0 {
		p.notBrought("the serial port's %s mode: Vivarium logs the serial console to run/console.log", u.Serial[0].Mode)
	}
	return nil
}

func planUTMQEMU(data string, u *utmConfig, p *Plan) error {
	c := p.Config
	c.Backend = vm.BackendQEMU
	c.OS = guessOS(u.Information.Name, u.Information.Icon)
	if q := u.QEMU; q != nil && q.UEFIBoot {
		c.Boot.Mode = vm.BootEFI
		if _, err := os.Stat(filepath.Join(data, utmEFIVarsFile)); err == nil {
			// qcow2 since 2022 despite its name; raw before: the header says.
			if err := p.addFile(vm.EFIVarsFile, filepath.Join(data, utmEFIVarsFile), "the EFI variables"); err != nil {
				return err
			}
		}
	}
	for _, d := range u.Drive {
		what := strings.ToLower(d.ImageType)
		if d.ImageName == "" {
			if d.ImageType == "CD" {
				p.notBrought("the removable CD drive: UTM keeps its image outside the bundle; give an ISO with boot.iso in Settings › Boot")
			} else {
				p.notBrought("the external %s drive %s: UTM keeps its path outside the bundle", what, d.Identifier)
			}
			continue
		}
		path := filepath.Join(data, d.ImageName)
		switch d.ImageType {
		case "Disk":
			img, err := ProbeImage(path)
			if err != nil {
				return err
			}
			p.addDisk(img, d.ReadOnly)
			if d.Interface != "VirtIO" && d.Interface != "" && d.Interface != "None" {
				p.notBrought("disk %s's %s interface: Vivarium attaches disks as virtio (the guest needs virtio drivers)", d.ImageName, d.Interface)
			}
		case "LinuxKernel":
			c.Boot.Mode = vm.BootLinux
			if err := p.addFile(vm.KernelFile, path, "the Linux kernel"); err != nil {
				return err
			}
		case "LinuxInitrd":
			if err := p.addFile(vm.InitrdFile, path, "the initial ramdisk"); err != nil {
				return err
			}
		case "BIOS":
			p.notBrought("the custom firmware %s: Vivarium boots with the host's UEFI firmware", d.ImageName)
		case "CD":
			p.notBrought("the CD image %s: give it with boot.iso in Settings › Boot if the VM still needs it", d.ImageName)
		default:
			p.notBrought("the %s drive %s", what, d.ImageName)
		}
	}
	if c.Boot.Mode == vm.BootLinux {
		c.Boot.Cmdline = appendArg(u.QEMU)
	}
	if c.Boot.Mode == "" {
		c.Boot.Mode = vm.BootEFI
		p.notBrought("BIOS (legacy) boot: Vivarium boots QEMU guests with UEFI or a kernel; a guest installed for BIOS may need its bootloader reinstalled")
	}
	if s := u.Sharing; s != nil {
		c.Clipboard = s.ClipboardSharing
		if s.DirectoryShareMode != "" && s.DirectoryShareMode != "None" {
			p.notBrought("the shared folder (%s): UTM keeps its path outside the bundle; add it again in Settings › Sharing", s.DirectoryShareMode)
		}
	}
	c.Audio = len(u.Sound) > 0
	sys := u.System
	if sys.CPU != "" && sys.CPU != "default" || len(sys.CPUFlagsAdd) > 0 || len(sys.CPUFlagsRemove) > 0 {
		p.notBrought("the CPU model %s and flags (%s): Vivarium uses the host's or QEMU's max CPU", sys.CPU, strings.Join(append(plus(sys.CPUFlagsAdd, "+"), plus(sys.CPUFlagsRemove, "-")...), " "))
	}
	if sys.Target != "" && !slices.Contains([]string{"q35", "virt"}, strings.SplitN(sys.Target, "-", 2)[0]) {
		p.notBrought("the machine type %s: Vivarium uses q35 (x86_64) or virt (arm64)", sys.Target)
	}
	if q := u.QEMU; q != nil {
		if q.MachinePropertyOverride != "" {
			p.notBrought("the machine properties %q", q.MachinePropertyOverride)
		}
		if args := extraArgs(q.AdditionalArguments); len(args) > 0 {
			p.notBrought("the extra QEMU arguments %s", strings.Join(args, " "))
		}
		if q.TPMDevice {
			p.notBrought("the TPM device and its state")
		}
		if q.RTCLocalTime {
			p.notBrought("the clock in local time: Vivarium's guests keep UTC")
		}
	}
	if len(u.Display) == 0 {
		p.notBrought("headless mode: Vivarium gives the VM a screen (start it with --headless to go without)")
	} else if hw := u.Display[0].Hardware; hw != "" && !strings.HasPrefix(hw, "virtio") {
		p.notBrought("the %s display card: Vivarium uses virtio-gpu", hw)
	}
	if in := u.Input; in != nil && in.UsbSharing {
		p.notBrought("USB device sharing")
	}
	for _, s := range u.Serial {
		p.notBrought("the %s serial port: Vivarium logs the serial console to run/console.log", s.Mode)
	}
	return nil
}

// utmNetwork maps the first network card; others are listed as not
// brought over.
func utmNetwork(nets []utmNIC, p *Plan) {
	c := p.Config
	if len(nets) == 0 {
		c.Network.Mode = vm.NetNone
		return
	}
	n := nets[0]
	p.SourceMAC = n.MacAddress
	switch n.Mode {
	case "Bridged":
		c.Network = vm.Network{Mode: vm.NetBridged, Interface: n.BridgeInterface}
		if n.BridgeInterface == "" {
			c.Network = vm.Network{Mode: vm.NetNAT}
			p.notBrought("bridged networking with no interface named: the VM gets NAT")
		}
	case "Host":
		c.Network.Mode = vm.NetNAT
		p.notBrought("host-only networking: the VM gets NAT")
	default: // Shared, Emulated
		c.Network.Mode = vm.NetNAT
	}
	if n.Hardware != "" && !strings.HasPrefix(n.Hardware, "virtio") {
		p.notBrought("the %s network card: Vivarium uses virtio-net (the guest needs its driver)", n.Hardware)
	}
	utmForwards(n.PortForward, p)
	if len(nets) > 1 {
		p.notBrought("%d more network cards: Vivarium gives a VM one", len(nets)-1)
	}
}

// utmForwards brings UTM's port forwards over as network.forwards, bound to
// 127.0.0.1 as Vivarium binds every forward; a rule that cannot come over
// is listed.
func utmForwards(rules []map[string]any, p *Plan) {
	c := p.Config
	if len(rules) == 0 {
		return
	}
	if c.Network.Mode != vm.NetNAT {
		p.notBrought("the port forwarding rules (%d): Vivarium forwards ports of NAT networks only", len(rules))
		return
	}
	for _, r := range rules {
		// UTM 4.4 and later write Protocol, HostPort…; earlier ones protocol, hostPort….
		get := func(key string) any {
			if v, ok := r[key]; ok {
				return v
			}
			return r[strings.ToLower(key[:1])+key[1:]]
		}
		f := vm.Forward{Proto: strings.ToLower(fmt.Sprint(get("Protocol"))), HostAddr: "127.0.0.1",
			HostPort: plistInt(get("HostPort")), GuestPort: plistInt(get("GuestPort"))}
		if _, err := vm.ParseForward(f.String()); err != nil {
			p.notBrought("the port forward %s %v → %v: %v", get("Protocol"), get("HostPort"), get("GuestPort"), err)
			continue
		}
		if addr, _ := get("HostAddress").(string); addr != "" && addr != "127.0.0.1" && addr != "localhost" {
			p.Notes = append(p.Notes, fmt.Sprintf("The port forward %s listened on %s in UTM; Vivarium binds it to 127.0.0.1 only.", f, addr))
		}
		c.Network.Forwards = append(c.Network.Forwards, f.String())
	}
}

// plistInt is a plist number as an int (0 when it is none).
func plistInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case uint64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

// utmLegacy is a UTM 3 (configuration version ≤ 3) QEMU config.plist.
type utmLegacy struct {
	ConfigurationVersion int `plist:"ConfigurationVersion"`
	Info                 struct {
		Name       string `plist:"Name"`
		Icon       string `plist:"Icon"`
		IconCustom bool   `plist:"IconCustom"`
		Notes      string `plist:"Notes"`
	} `plist:"Info"`
	System struct {
		Architecture string   `plist:"Architecture"`
		Target       string   `plist:"Target"`
		CPU          string   `plist:"CPU"`
		CPUCount     int      `plist:"CPUCount"`
		Memory       int64    `plist:"Memory"` // MiB
		BootUefi     bool     `plist:"BootUefi"`
		AddArgs      []string `plist:"AddArgs"`
	} `plist:"System"`
	Drives []struct {
		ImagePath     string `plist:"ImagePath"`
		ImageType     string `plist:"ImageType"`
		InterfaceType string `plist:"InterfaceType"`
		Removable     bool   `plist:"Removable"`
	} `plist:"Drives"`
	Networking struct {
		NetworkMode    string `plist:"NetworkMode"`
		NetworkCard    string `plist:"NetworkCard"`
		NetworkCardMAC string `plist:"NetworkCardMAC"`
	} `plist:"Networking"`
	Sound struct {
		SoundEnabled bool `plist:"SoundEnabled"`
	} `plist:"Sound"`
	Sharing struct {
		ClipboardSharing bool `plist:"ClipboardSharing"`
	} `plist:"Sharing"`
}

// planUTMLegacy maps a UTM 3 QEMU bundle as far as it goes.
func planUTMLegacy(dir string, data []byte, p *Plan) error {
	var u utmLegacy
	if _, err := plist.Unmarshal(data, &u); err != nil {
		return fmt.Errorf("UTM bundle %s: config.plist (legacy) cannot be read: %w", dir, err)
	}
	arch, err := utmArch(dir, u.System.Architecture)
	if err != nil {
		return err
	}
	if u.Info.Name != "" {
		p.Name = u.Info.Name
	}
	c := p.Config
	c.Backend, c.Arch = vm.BackendQEMU, arch
	c.OS = guessOS(p.Name, u.Info.Icon)
	c.CPUs = max(u.System.CPUCount, 1)
	c.Memory = vm.Size(u.System.Memory) * vm.MiB
	c.Audio = u.Sound.SoundEnabled
	c.Clipboard = u.Sharing.ClipboardSharing
	c.Boot.Mode = vm.BootEFI
	if !u.System.BootUefi {
		p.notBrought("BIOS (legacy) boot: Vivarium boots QEMU guests with UEFI or a kernel")
	}
	images := filepath.Join(dir, utmLegacyDir)
	for _, d := range u.Drives {
		if d.ImagePath == "" {
			p.notBrought("the removable %s drive: UTM keeps its image outside the bundle", d.ImageType)
			continue
		}
		path := filepath.Join(images, d.ImagePath)
		switch d.ImageType {
		case "disk":
			img, err := ProbeImage(path)
			if err != nil {
				return fmt.Errorf("UTM bundle %s: %w", dir, err)
			}
			p.addDisk(img, false)
		case "kernel":
			c.Boot.Mode = vm.BootLinux
			if err := p.addFile(vm.KernelFile, path, "the Linux kernel"); err != nil {
				return err
			}
		case "initrd":
			if err := p.addFile(vm.InitrdFile, path, "the initial ramdisk"); err != nil {
				return err
			}
		default:
			p.notBrought("the %s drive %s", d.ImageType, d.ImagePath)
		}
	}
	switch u.Networking.NetworkMode {
	case "", "emulated", "shared":
		c.Network.Mode = vm.NetNAT
	case "none":
		c.Network.Mode = vm.NetNone
	default:
		c.Network.Mode = vm.NetNAT
		p.notBrought("the %s network mode: the VM gets NAT", u.Networking.NetworkMode)
	}
	p.SourceMAC = u.Networking.NetworkCardMAC
	if len(u.System.AddArgs) > 0 {
		p.notBrought("the extra QEMU arguments %s", strings.Join(u.System.AddArgs, " "))
	}
	if u.System.CPU != "" && u.System.CPU != "default" {
		p.notBrought("the CPU model %s", u.System.CPU)
	}
	p.notBrought("UTM 3's display, input and sharing settings (legacy format; open the bundle in UTM 4 first to bring more)")
	return nil
}

// guessOS reads a guest OS from a UTM VM's name and built-in icon: UTM's
// QEMU configs do not record it.
func guessOS(name, icon string) string {
	s := strings.ToLower(name + " " + icon)
	for _, l := range []string{"linux", "ubuntu", "debian", "fedora", "arch", "alpine", "kali", "mint", "centos", "rocky", "suse", "manjaro", "nixos", "gentoo", "elementary", "pop"} {
		if strings.Contains(s, l) {
			return vm.OSLinux
		}
	}
	return vm.OSOther
}

// utmArgs splits UTM's AdditionalArguments as UTM does before handing
// them to QEMU: each entry at white space, except inside double quotes,
// and a fragment quoted whole loses its quotes.
func utmArgs(entries []string) []string {
	var out []string
	for _, e := range entries {
		var cur strings.Builder
		inQuote, started := false, false
		flush := func() {
			if started {
				f := cur.String()
				if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
					f = f[1 : len(f)-1]
				}
				out = append(out, f)
			}
			cur.Reset()
			started = false
		}
		for _, r := range e {
			switch {
			case r == '"':
				inQuote = !inQuote
				cur.WriteRune(r)
				started = true
			case !inQuote && (r == ' ' || r == '\t' || r == '\n'):
				flush()
			default:
				cur.WriteRune(r)
				started = true
			}
		}
		flush()
	}
	return out
}

// appendArg finds a kernel command line in UTM's extra QEMU arguments
// (-append "…"), which is where UTM users put one.
func appendArg(q *utmQEMU) string {
	if q == nil {
		return ""
	}
	args := utmArgs(q.AdditionalArguments)
	for i, a := range args {
		if a == "-append" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// extraArgs are UTM's additional QEMU arguments that Vivarium does not
// carry: all but the kernel command line.
func extraArgs(entries []string) []string {
	args := utmArgs(entries)
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-append" {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

func plus(flags []string, sign string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = sign + f
	}
	return out
}
