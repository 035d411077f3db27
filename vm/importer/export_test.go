package importer_test

import (
	"context"
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

// TestExportUTMRoundTrip exports a QEMU Linux VM and a vz macOS VM as
// .utm bundles with the keys UTM's decoder requires, and imports them back
// with the same hardware, disks and identity.
func TestExportUTMRoundTrip(t *testing.T) {
	im, lib := newImporter(t)
	ctx := context.Background()
	guest := t.TempDir()
	importertest.WriteFile(t, filepath.Join(guest, "vmlinux"), []byte("a kernel"))
	importertest.WriteFile(t, filepath.Join(guest, "initrd.img"), []byte("an initrd"))

	linux := vm.NewConfig("Tiny Linux", vm.OSLinux)
	linux.Backend, linux.Arch, linux.CPUs, linux.Memory = vm.BackendQEMU, vm.ArchAMD64, 3, 1536*vm.MiB
	linux.Boot = vm.Boot{Mode: vm.BootLinux, Kernel: filepath.Join(guest, "vmlinux"), Initrd: filepath.Join(guest, "initrd.img"), Cmdline: "console=ttyS0 quiet"}
	linux.Disks = []vm.Disk{{File: vm.DiskFileName(0), Size: 32 * vm.MiB}}
	linux.Audio = true
	mac := vm.NewConfig("Sequoia", vm.OSMacOS)
	mac.CPUs, mac.Memory = 4, 8*vm.GiB
	mac.Disks = []vm.Disk{{File: vm.DiskFileName(0), Size: 40 * vm.MiB}}
	model, id := importertest.Identity(t)
	efi := vm.NewConfig("Debian EFI", vm.OSLinux)
	efi.Backend, efi.Arch, efi.CPUs, efi.Memory = vm.BackendQEMU, vm.ArchARM64, 2, 2*vm.GiB
	efi.Disks = []vm.Disk{{File: vm.DiskFileName(0), Size: 24 * vm.MiB}}

	for _, tc := range []struct {
		c       *vm.Config
		backend string
		extra   func(b vm.Bundle)
		files   []string
	}{
		{c: linux, backend: "QEMU"},
		{c: efi, backend: "QEMU", extra: func(b vm.Bundle) {
			importertest.RawDisk(t, b.EFIVarsPath(), 64<<20, "boot entries")
		}, files: []string{vm.EFIVarsFile}},
		{c: mac, backend: "Apple", extra: func(b vm.Bundle) {
			importertest.WriteFile(t, b.HardwareModelPath(), model)
			importertest.WriteFile(t, b.MachineIDPath(), id)
			importertest.RawDisk(t, b.AuxPath(), 1<<20, "aux")
		}, files: []string{vm.HardwareFile, vm.MachineIDFile, vm.AuxFile}},
	} {
		t.Run(tc.c.Name, func(t *testing.T) {
			info, err := lib.Create(ctx, tc.c, vm.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b := info.Bundle()
			os.Remove(b.DiskPath(vm.DiskFileName(0)))
			diskSum := importertest.RawDisk(t, b.DiskPath(vm.DiskFileName(0)), int64(tc.c.Disks[0].Size), "exported")
			if tc.extra != nil {
				tc.extra(b)
			}
			out := t.TempDir()
			res, err := importer.ExportUTM(ctx, b, out, importer.ExportOptions{QCOW2: qemu.ImageTool{}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Path != filepath.Join(out, tc.c.Name+".utm") {
				t.Errorf("exported to %s", res.Path)
			}
			// The keys UTM 4 decodes before anything else, and no stray files
			// in Data/ (UTM deletes what its config does not name).
			var stub struct {
				Backend              string `plist:"Backend"`
				ConfigurationVersion int    `plist:"ConfigurationVersion"`
				Drive                []struct {
					ImageName string `plist:"ImageName"`
				} `plist:"Drive"`
				QEMU *struct {
					PS2Controller *bool `plist:"PS2Controller"`
				} `plist:"QEMU"`
				Network []struct {
					Mode string `plist:"Mode"`
				} `plist:"Network"`
			}
			data, err := os.ReadFile(filepath.Join(res.Path, "config.plist"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plist.Unmarshal(data, &stub); err != nil {
				t.Fatal(err)
			}
			if stub.Backend != tc.backend || stub.ConfigurationVersion != 4 {
				t.Errorf("Backend %q version %d", stub.Backend, stub.ConfigurationVersion)
			}
			if tc.backend == "QEMU" && (stub.QEMU == nil || stub.QEMU.PS2Controller == nil) {
				t.Error("QEMU.PS2Controller, which UTM's decoder requires, is missing")
			}
			wantMode := map[string]string{"QEMU": "Emulated", "Apple": "Shared"}[tc.backend]
			if len(stub.Network) != 1 || stub.Network[0].Mode != wantMode {
				t.Errorf("Network = %+v, want one card in mode %s (NAT)", stub.Network, wantMode)
			}
			if tc.c.Boot.Mode == vm.BootEFI && tc.backend == "QEMU" {
				if img, err := importer.ProbeImage(filepath.Join(res.Path, "Data", "efi_vars.fd")); err != nil || img.Format != importer.FormatQCOW2 {
					t.Errorf("Data/efi_vars.fd: %+v %v, want qcow2 as UTM keeps it", img, err)
				}
			}
			entries, _ := os.ReadDir(filepath.Join(res.Path, "Data"))
			for _, e := range entries {
				if e.Name() == "efi_vars.fd" && tc.c.Boot.Mode == vm.BootEFI {
					continue // UTM keeps it whenever UEFIBoot is on
				}
				if !strings.Contains(string(data), "<string>"+e.Name()+"</string>") {
					t.Errorf("Data/%s is not named in config.plist; UTM would delete it", e.Name())
				}
			}

			back, err := im.Import(ctx, res.Path, importer.Options{Name: tc.c.Name + " again", Backend: tc.c.Backend})
			if err != nil {
				t.Fatal(err)
			}
			c := back.Info.Config
			if c.CPUs != tc.c.CPUs || c.Memory != tc.c.Memory || c.OS != tc.c.OS || c.Arch != tc.c.Arch || c.Boot.Mode != tc.c.Boot.Mode || c.Audio != tc.c.Audio {
				t.Errorf("round trip: %+v\nwant %+v", c, tc.c)
			}
			if c.Boot.Cmdline != tc.c.Boot.Cmdline {
				t.Errorf("cmdline %q, want %q", c.Boot.Cmdline, tc.c.Boot.Cmdline)
			}
			if got := importertest.FileSum(t, back.Info.Bundle().DiskPath(c.Disks[0].File)); got != diskSum {
				t.Error("the disk changed on the way out and back")
			}
			for _, f := range tc.files {
				if importertest.FileSum(t, filepath.Join(b.Dir, f)) != importertest.FileSum(t, filepath.Join(back.Info.Dir, f)) {
					t.Errorf("%s changed on the way out and back", f)
				}
			}
			if _, err := importer.ExportUTM(ctx, b, out, importer.ExportOptions{QCOW2: qemu.ImageTool{}}); err == nil {
				t.Error("a second export over the first succeeded")
			}
		})
	}
}
