package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
)

// TestImportCLIListsWhatIsNotBroughtOver imports UTM's real macOS 12 QEMU
// config around qcow2 disks: the CLI says how each disk came over and lists
// what was not brought over; --json says the same.
func TestImportCLIListsWhatIsNotBroughtOver(t *testing.T) {
	importertest.RequireQEMUImg(t)
	fx := importertest.FixturesDir(t)
	src := filepath.Join(t.TempDir(), "mac.utm")
	importertest.CopyFile(t, filepath.Join(fx, "utm", "qemu-x86_64-macos12-real.utm", "config.plist"), filepath.Join(src, "config.plist"))
	for _, f := range []string{"OVMF.qcow2", "EFI-MODERN-MK.qcow2", "disk-0.qcow2"} {
		importertest.Image(t, filepath.Join(src, "Data", f), "qcow2", 8<<20, f)
	}
	home := t.TempDir()
	out, err := cli(t, home, "import", src, "Monterey")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, want := range []string{`Imported "Monterey" from UTM`, "8 CPUs, 8GiB memory", "disk-0.img: 8.0 MiB", "converted", "Not brought over:", "the CPU model Penryn", "-usbdevice keyboard"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	out, err = cli(t, home, "import", "--json", "--keep-mac", src)
	if err != nil {
		t.Fatalf("import --json: %v\n%s", err, out)
	}
	var res struct {
		VM         vm.Info  `json:"vm"`
		NotBrought []string `json:"not_brought_over"`
		Notes      []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if res.VM.Config.Network.MAC != "f2:58:be:a6:38:b1" || len(res.NotBrought) < 5 || len(res.Notes) != 1 {
		t.Errorf("import --json --keep-mac: mac %q, %d not brought over, notes %q", res.VM.Config.Network.MAC, len(res.NotBrought), res.Notes)
	}

	// Export the first back out as a .utm, next to nothing else.
	dir := t.TempDir()
	if out, err := cli(t, home, "export", "Monterey", dir, "--format", "utm"); err != nil || !strings.Contains(out, "Monterey.utm") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if st, err := os.Stat(filepath.Join(dir, "Monterey.utm", "config.plist")); err != nil || st.Size() == 0 {
		t.Errorf("export wrote no config.plist: %v", err)
	}
	if _, err := cli(t, home, "export", "Monterey", dir, "--format", "ova"); err == nil {
		t.Error("export --format ova succeeded")
	}
}

// TestCreateImportDiskConvertsQCOW2: create --import-disk takes a qcow2
// (named .img) by its header, converts it, and sizes the disk from it.
func TestCreateImportDiskConvertsQCOW2(t *testing.T) {
	importertest.RequireQEMUImg(t)
	src := filepath.Join(t.TempDir(), "looks-raw.img")
	sum := importertest.Image(t, src, "qcow2", 24<<20, "create-import")
	home := t.TempDir()
	if out, err := cli(t, home, "create", "--import-disk", src, "fromqcow"); err != nil {
		t.Fatalf("create --import-disk: %v\n%s", err, out)
	}
	b := vm.Bundle{Dir: filepath.Join(home, "fromqcow.vm")}
	if importertest.FileSum(t, b.DiskPath(vm.DiskFileName(0))) != sum {
		t.Error("the qcow2's disk did not come over byte for byte")
	}
	c, err := vm.LoadConfig(b.ConfigPath())
	if err != nil || c.Disks[0].Size != 24*vm.MiB {
		t.Errorf("disk size %v (%v), want the qcow2's 24MiB", c.Disks[0].Size, err)
	}
}
