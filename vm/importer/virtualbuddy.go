package importer

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"howett.net/plist"

	"github.com/vivarium-vm/vivarium/vm"
)

// VirtualBuddy bundle layout (Name.vbvm/).
const (
	vbDataDir       = ".vbdata"
	vbConfigFile    = "Config.plist"
	vbNVRAMFile     = "nvram"
	vbBootDisk      = "Disk"
	vbHardwareModel = "HardwareModel"
	vbMachineID     = "MachineIdentifier"
	vbAuxStorage    = "AuxiliaryStorage"
	vbBundleExt     = ".vbvm"
)

// vbConfig is VirtualBuddy's .vbdata/Config.plist (VBMacConfiguration),
// binary or XML.
type vbConfig struct {
	SystemType      string           `plist:"systemType"`
	RosettaSharing  bool             `plist:"rosettaSharingEnabled"`
	GuestAdditions  bool             `plist:"guestAdditionsEnabled"`
	SharedFoldersPL []vbSharedFolder `plist:"sharedFolders"`
	Hardware        struct {
		CPUCount       int    `plist:"cpuCount"`
		MemorySize     uint64 `plist:"memorySize"`
		DisplayDevices []struct {
			Width      int  `plist:"width"`
			Height     int  `plist:"height"`
			PPI        int  `plist:"pixelsPerInch"`
			AutoResize bool `plist:"automaticallyReconfiguresDisplay"`
		} `plist:"displayDevices"`
		NetworkDevices []struct {
			ID         string `plist:"id"`
			Kind       int    `plist:"kind"`
			MACAddress string `plist:"macAddress"`
		} `plist:"networkDevices"`
		SoundDevices   []map[string]any `plist:"soundDevices"`
		NVRAM          []map[string]any `plist:"NVRAM"`
		StorageDevices *[]vbStorage     `plist:"_storageDevices"`
	} `plist:"hardware"`
}

type vbSharedFolder struct {
	URL        vbURL `plist:"url"`
	IsEnabled  bool  `plist:"isEnabled"`
	IsReadOnly bool  `plist:"isReadOnly"`
}

type vbURL struct {
	Relative string `plist:"relative"`
}

type vbStorage struct {
	IsBootVolume    bool `plist:"isBootVolume"`
	IsEnabled       bool `plist:"isEnabled"`
	IsReadOnly      bool `plist:"isReadOnly"`
	IsUSBMassStored bool `plist:"isUSBMassStorageDevice"`
	Backing         struct {
		Managed *struct {
			V struct {
				Filename string `plist:"filename"`
				Format   int    `plist:"format"`
			} `plist:"_0"`
		} `plist:"managedImage"`
		Custom *struct {
			V vbURL `plist:"_0"`
		} `plist:"customImage"`
	} `plist:"backing"`
}

// vbFormats are VirtualBuddy's managed image formats: file extension and
// what the format is.
var vbFormats = []struct {
	ext    string
	format Format
}{{".img", FormatRaw}, {".dmg", FormatDMG}, {".sparseimage", FormatDMG}, {".asif", FormatASIF}}

// planVirtualBuddy reads a .vbvm bundle.
func planVirtualBuddy(dir string, p *Plan) error {
	data, err := os.ReadFile(filepath.Join(dir, vbDataDir, vbConfigFile))
	if err != nil {
		return fmt.Errorf("VirtualBuddy VM %s: %w", dir, err)
	}
	var v vbConfig
	if _, err := plist.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("VirtualBuddy VM %s: Config.plist cannot be read: %w", dir, err)
	}
	p.Kind = KindVirtualBuddy
	p.Name = strings.TrimSuffix(filepath.Base(dir), vbBundleExt)
	c := p.Config
	hw := v.Hardware
	c.Backend, c.Arch = vm.BackendVZ, vm.ArchARM64
	c.CPUs = hw.CPUCount
	c.Memory = vm.Size(hw.MemorySize)
	switch v.SystemType {
	case "", "mac":
		c.OS, c.Boot.Mode = vm.OSMacOS, vm.BootMacOS
		model, err1 := os.ReadFile(filepath.Join(dir, vbHardwareModel))
		id, err2 := os.ReadFile(filepath.Join(dir, vbMachineID))
		if err1 != nil || err2 != nil {
			return fmt.Errorf("VirtualBuddy VM %s: HardwareModel or MachineIdentifier is missing, and a macOS guest without its identity does not boot", dir)
		}
		p.Files = append(p.Files,
			Item{Dest: vm.HardwareFile, Data: model, What: "the hardware model"},
			Item{Dest: vm.MachineIDFile, Data: id, What: "the machine identifier"})
		if err := p.addFile(vm.AuxFile, filepath.Join(dir, vbAuxStorage), "the auxiliary storage (macOS NVRAM)"); err != nil {
			return fmt.Errorf("VirtualBuddy VM %s: %w", dir, err)
		}
	case "linux":
		c.OS, c.Boot.Mode = vm.OSLinux, vm.BootEFI
		nvram := filepath.Join(dir, vbDataDir, vbNVRAMFile)
		if _, err := os.Stat(nvram); err == nil {
			if err := p.addFile(vm.EFIVarsFile, nvram, "the EFI variables"); err != nil {
				return err
			}
			p.Files[len(p.Files)-1].VZOnly = true
		}
	default:
		return fmt.Errorf("VirtualBuddy VM %s: systemType %q is neither mac nor linux", dir, v.SystemType)
	}
	storage := []vbStorage{{IsBootVolume: true, IsEnabled: true}}
	if hw.StorageDevices != nil {
		storage = *hw.StorageDevices
	}
	for _, s := range storage {
		if !s.IsEnabled {
			continue
		}
		path, format := "", FormatRaw
		switch {
		case s.Backing.Custom != nil:
			u, err := url.Parse(s.Backing.Custom.V.Relative)
			if err != nil || u.Path == "" {
				p.notBrought("a custom disk image %q that cannot be read as a file URL", s.Backing.Custom.V.Relative)
				continue
			}
			path = u.Path
		case s.Backing.Managed != nil:
			m := s.Backing.Managed.V
			if m.Format < 0 || m.Format >= len(vbFormats) {
				return fmt.Errorf("VirtualBuddy VM %s: disk %s has unknown format %d", dir, m.Filename, m.Format)
			}
			path, format = filepath.Join(dir, m.Filename+vbFormats[m.Format].ext), vbFormats[m.Format].format
		default: // the boot disk, when the key is missing
			path = filepath.Join(dir, vbBootDisk+".img")
		}
		img, err := ProbeImage(path)
		if err != nil {
			return fmt.Errorf("VirtualBuddy VM %s: %w", dir, err)
		}
		if format != FormatRaw {
			img.Format = format
		}
		p.addDisk(img, s.IsReadOnly)
		if s.IsUSBMassStored {
			p.notBrought("disk %s as a USB mass storage device: Vivarium attaches it as a virtio disk", filepath.Base(path))
		}
	}
	if len(hw.DisplayDevices) > 0 {
		d := hw.DisplayDevices[0]
		c.Display = vm.Display{Width: d.Width, Height: d.Height, PPI: d.PPI, AutoResize: d.AutoResize}
	}
	c.Network.Mode = vm.NetNone
	if len(hw.NetworkDevices) > 0 {
		n := hw.NetworkDevices[0]
		p.SourceMAC = n.MACAddress
		c.Network.Mode = vm.NetNAT
		if n.Kind == 1 {
			if n.ID == "" || n.ID == "Automatic Bridge" {
				p.notBrought("the automatic bridge: name an interface in Settings › Network to bridge; the VM gets NAT")
			} else {
				c.Network = vm.Network{Mode: vm.NetBridged, Interface: n.ID}
			}
		}
		if len(hw.NetworkDevices) > 1 {
			p.notBrought("%d more network cards: Vivarium gives a VM one", len(hw.NetworkDevices)-1)
		}
	}
	c.Audio = len(hw.SoundDevices) > 0
	c.Clipboard = v.GuestAdditions
	c.Rosetta = v.RosettaSharing && c.OS == vm.OSLinux
	for _, f := range v.SharedFoldersPL {
		if !f.IsEnabled {
			continue
		}
		u, err := url.Parse(f.URL.Relative)
		if err != nil || u.Path == "" {
			p.notBrought("the shared folder %q, which is not a file URL", f.URL.Relative)
			continue
		}
		sh := vm.Share{Path: filepath.Clean(u.Path), ReadOnly: f.IsReadOnly, Automount: c.OS == vm.OSMacOS}
		c.Shares = append(c.Shares, sh)
	}
	if len(c.Shares) > 0 && c.OS == vm.OSLinux {
		p.Notes = append(p.Notes, "Shared folders keep their paths; in the guest each is mounted by its own tag (the folder's name) instead of VirtualBuddyShared.")
	}
	if len(hw.NVRAM) > 0 {
		p.notBrought("%d NVRAM variables set in VirtualBuddy's settings (boot-args and the like)", len(hw.NVRAM))
	}
	return nil
}
