package importer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vivarium-vm/vivarium/vm"
)

// Tart VM folder layout (~/.tart/vms/<name>/).
const (
	tartConfigFile = "config.json"
	tartDiskFile   = "disk.img"
	tartNVRAMFile  = "nvram.bin"
	tartStateFile  = "state.vzvmsave"
)

// tartConfig is Tart's config.json (VMConfig).
type tartConfig struct {
	Version       int    `json:"version"`
	OS            string `json:"os"`
	Arch          string `json:"arch"`
	ECID          string `json:"ecid"`
	HardwareModel string `json:"hardwareModel"`
	CPUCount      int    `json:"cpuCount"`
	MemorySize    int64  `json:"memorySize"` // bytes
	MACAddress    string `json:"macAddress"`
	Display       struct {
		Width  int    `json:"width"`
		Height int    `json:"height"`
		Unit   string `json:"unit"`
	} `json:"display"`
	DisplayRefit *bool  `json:"displayRefit"`
	DiskFormat   string `json:"diskFormat"`
}

// planTart reads a Tart VM folder.
func planTart(dir string, p *Plan) error {
	data, err := os.ReadFile(filepath.Join(dir, tartConfigFile))
	if err != nil {
		return fmt.Errorf("the Tart VM %s: %w", dir, err)
	}
	var t tartConfig
	if err := json.Unmarshal(data, &t); err != nil {
		return fmt.Errorf("the Tart VM %s: config.json cannot be read: %w", dir, err)
	}
	if t.Version > 1 {
		return fmt.Errorf("the Tart VM %s has config version %d, newer than the 1 Vivarium reads: update Vivarium", dir, t.Version)
	}
	p.Kind = KindTart
	p.Name = filepath.Base(dir)
	if heldByAnother(filepath.Join(dir, tartConfigFile)) {
		return fmt.Errorf("the Tart VM %s is running (tart holds its config.json): stop it first (tart stop %s), then import it", dir, p.Name)
	}
	c := p.Config
	c.Backend = vm.BackendVZ
	switch t.Arch {
	case "", "arm64":
		c.Arch = vm.ArchARM64
	case "amd64":
		c.Arch = vm.ArchAMD64
	default:
		return fmt.Errorf("the Tart VM %s: arch %q is neither arm64 nor amd64", dir, t.Arch)
	}
	c.CPUs = t.CPUCount
	c.Memory = vm.Size(t.MemorySize)
	p.SourceMAC = t.MACAddress
	c.Network.Mode = vm.NetNAT
	c.Clipboard = true // tart run shares the clipboard unless told not to
	switch t.OS {
	case "", "darwin":
		c.OS, c.Boot.Mode = vm.OSMacOS, vm.BootMacOS
		model, err1 := base64.StdEncoding.DecodeString(t.HardwareModel)
		ecid, err2 := base64.StdEncoding.DecodeString(t.ECID)
		if t.HardwareModel == "" || t.ECID == "" || err1 != nil || err2 != nil {
			return fmt.Errorf("the Tart VM %s: hardwareModel or ecid is missing or not base64, and a macOS guest without its identity does not boot", dir)
		}
		p.Files = append(p.Files,
			Item{Dest: vm.HardwareFile, Data: model, What: "the hardware model"},
			Item{Dest: vm.MachineIDFile, Data: ecid, What: "the machine identifier (ECID)"})
		if err := p.addFile(vm.AuxFile, filepath.Join(dir, tartNVRAMFile), "the auxiliary storage (nvram.bin)"); err != nil {
			return fmt.Errorf("the Tart VM %s: %w", dir, err)
		}
	case "linux":
		c.OS, c.Boot.Mode = vm.OSLinux, vm.BootEFI
		if _, err := os.Stat(filepath.Join(dir, tartNVRAMFile)); err == nil {
			if err := p.addFile(vm.EFIVarsFile, filepath.Join(dir, tartNVRAMFile), "the EFI variables (nvram.bin)"); err != nil {
				return err
			}
			p.Files[len(p.Files)-1].VZOnly = true
		}
	default:
		return fmt.Errorf("the Tart VM %s: os %q is neither darwin nor linux", dir, t.OS)
	}
	img, err := ProbeImage(filepath.Join(dir, tartDiskFile))
	if err != nil {
		return fmt.Errorf("the Tart VM %s: %w", dir, err)
	}
	if t.DiskFormat == "asif" {
		img.Format = FormatASIF
	}
	p.addDisk(img, false)
	if w, h := t.Display.Width, t.Display.Height; w > 0 && h > 0 {
		c.Display.Width, c.Display.Height = w, h
		if t.Display.Unit != "px" && c.OS == vm.OSMacOS {
			// Points, sized for a Retina screen: twice the pixels at 144 ppi.
			c.Display = vm.Display{Width: 2 * w, Height: 2 * h, PPI: 144}
		}
	}
	c.Display.AutoResize = c.OS != vm.OSLinux
	if t.DisplayRefit != nil {
		c.Display.AutoResize = *t.DisplayRefit
	}
	if _, err := os.Stat(filepath.Join(dir, tartStateFile)); err == nil {
		p.notBrought("the suspended state: the VM starts afresh (resume and shut it down in Tart first to keep what was open)")
	}
	p.notBrought("what Tart takes as 'tart run' options, which are not in the VM folder: shared folders (--dir), Rosetta, extra disks, bridged or softnet networking; set them in Settings")
	return nil
}
