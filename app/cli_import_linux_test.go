package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"howett.net/plist"

	"github.com/vivarium-vm/vivarium/internal/testguest"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
)

// TestImportedUTMVMBoots imports a UTM QEMU bundle laid out as UTM lays one
// out around the test guest (kernel and initrd drives, a qcow2 disk, the
// kernel command line in the extra arguments), then boots it through the
// real CLI and runner: the guest reaches its ready marker and reads the
// first line of the disk that came from the bundle. The bundle is unchanged.
func TestImportedUTMVMBoots(t *testing.T) {
	g := testguest.Require(t)
	importertest.RequireQEMUImg(t)
	v := &guestVM{t: t, bin: vivariumBinary(t), home: t.TempDir(), name: "Tiny from UTM"}

	src := filepath.Join(t.TempDir(), "Tiny.utm")
	data := filepath.Join(src, "Data")
	importertest.CopyFile(t, g.Kernel, filepath.Join(data, "vmlinux"))
	importertest.CopyFile(t, g.Initrd, filepath.Join(data, "initrd.img"))
	raw := filepath.Join(t.TempDir(), "disk.raw")
	first := append([]byte("from-utm\n"), make([]byte, 512-9)...)
	importertest.WriteFile(t, raw, first)
	if err := os.Truncate(raw, 64<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, filepath.Join(data, "B0A1C2D3-0000-4000-8000-0000000000AA.qcow2")).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	importertest.WritePlist(t, filepath.Join(src, "config.plist"), map[string]any{
		"Backend": "QEMU", "ConfigurationVersion": 4,
		"Information": map[string]any{"Name": v.name, "Icon": "linux", "IconCustom": false, "UUID": "5B7D8E9F-1111-4222-8333-444455556666"},
		"System":      map[string]any{"Architecture": "x86_64", "Target": "q35", "CPU": "default", "CPUCount": 1, "MemorySize": 512, "CPUFlagsAdd": []string{}, "CPUFlagsRemove": []string{}},
		"QEMU": map[string]any{"UEFIBoot": false, "PS2Controller": false, "RNGDevice": true,
			"AdditionalArguments": []string{`-append "` + testguest.Cmdline(nil, []string{testguest.ActionDiskRead}) + `"`}},
		"Drive": []any{
			map[string]any{"Identifier": "K", "ImageName": "vmlinux", "ImageType": "LinuxKernel", "Interface": "None", "ReadOnly": true},
			map[string]any{"Identifier": "I", "ImageName": "initrd.img", "ImageType": "LinuxInitrd", "Interface": "None", "ReadOnly": true},
			map[string]any{"Identifier": "D", "ImageName": "B0A1C2D3-0000-4000-8000-0000000000AA.qcow2", "ImageType": "Disk", "Interface": "VirtIO", "ReadOnly": false},
		},
		"Display": []any{map[string]any{"Hardware": "virtio-vga"}},
		"Network": []any{},
		"Sharing": map[string]any{"ClipboardSharing": false, "DirectoryShareMode": "None"},
		"Serial":  []any{},
		"Sound":   []any{},
	}, plist.XMLFormat)
	before := importertest.TreeSum(t, src)

	out := v.must("import", src)
	if !strings.Contains(out, `Imported "Tiny from UTM" from UTM`) || !strings.Contains(out, "converted") {
		t.Errorf("import said:\n%s", out)
	}
	v.b = vm.Bundle{Dir: filepath.Join(v.home, v.name+vm.BundleExt)}
	t.Cleanup(func() {
		if v.b.Locked() {
			v.run("stop", "--force", v.name)
		}
	})
	v.must("start", "--headless", v.name)
	text := v.waitConsole(testguest.IdleMarker)
	v.must("stop", "--force", v.name)
	if !strings.Contains(text, testguest.ReadyMarker) {
		t.Errorf("the imported VM's console lacks the ready marker:\n%s", text)
	}
	if r, ok := testguest.FindResult(testguest.ParseResults(text), testguest.ActionDiskRead); !ok || r.Detail != "from-utm" {
		t.Errorf("the guest did not read the imported disk: %+v", r)
	}
	if importertest.TreeSum(t, src) != before {
		t.Error("importing and running the VM changed the UTM bundle")
	}
}
