package ui_test

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
)

func withImporter() option {
	return func(h *harness, d *ui.Deps) { d.Importer = &importer.Importer{Library: h.lib} }
}

// TestDroppingAUTMBundleOnTheLibraryImportsIt: a .utm dropped on the
// library window becomes a VM in the list, with a note of what did not come.
func TestDroppingAUTMBundleOnTheLibraryImportsIt(t *testing.T) {
	h := newHarness(t, withImporter())
	src, sum := importertest.UTMBundle(t, "Dropped Debian")
	before := importertest.TreeSum(t, src)
	w := h.gui.Window()
	h.gui.ImportDropped([]fyne.URI{storage.NewFileURI(src)})
	h.waitText(w, "Imported “Dropped Debian”")
	if !hasText(w, "• the TPM device and its state") {
		t.Errorf("the import note does not list what was not brought over; it shows %q", texts(w))
	}
	tap(t, w, "OK")
	h.waitText(w, "Linux · 3 CPUs · 3.0 GiB")
	if got := h.badge("Dropped Debian"); got != "stopped" {
		t.Errorf("badge = %q", got)
	}
	info, err := h.lib.Inspect(context.Background(), "Dropped Debian")
	if err != nil {
		t.Fatal(err)
	}
	if importertest.FileSum(t, info.Bundle().DiskPath(info.Config.Disks[0].File)) != sum {
		t.Error("the dropped VM's disk differs from the bundle's")
	}
	if importertest.TreeSum(t, src) != before {
		t.Error("the drop changed the .utm")
	}

	// Dropping something that is no VM says why, and makes nothing.
	h.gui.ImportDropped([]fyne.URI{storage.NewFileURI(t.TempDir())})
	h.waitText(w, "is a folder Vivarium does not know")
}

// TestWizardImportsAVM: "Import a VM…" previews what the import makes and
// what it cannot bring over, then makes it under the name given.
func TestWizardImportsAVM(t *testing.T) {
	h := newHarness(t, withImporter())
	src, sum := importertest.UTMBundle(t, "Bookworm")
	h.files.Picks = []string{src}
	w := h.openWizard()
	tapText(t, w, "Import a VM…")
	h.waitText(w, "Import a VM")
	if !findButton(t, w, "Continue").Disabled() {
		t.Error("Continue is enabled with nothing chosen")
	}
	tap(t, w, "Choose Folder…")
	h.waitText(w, "UTM: "+src)
	for _, want := range []string{"3", "3.0 GiB", "Not brought over:\n• the TPM device and its state"} {
		if !hasText(w, want) && !strings.Contains(strings.Join(texts(w), "\n"), want) {
			t.Errorf("the preview lacks %q; it shows %q", want, texts(w))
		}
	}
	tap(t, w, "Continue")
	if got := entryAfter(t, w, "Name").Text; got != "Bookworm" {
		t.Errorf("suggested name %q, want the UTM VM's", got)
	}
	typeInto(t, w, "Bookworm Imported")
	tap(t, w, "Create")
	h.loop.WaitFor(t, "the wizard to close", func() bool { return !h.hasWindow("Create a VM") })
	h.waitText(h.gui.Window(), "Imported “Bookworm Imported”")
	info, err := h.lib.Inspect(context.Background(), "Bookworm Imported")
	if err != nil {
		t.Fatal(err)
	}
	c := info.Config
	if c.CPUs != 3 || c.Memory != 3*vm.GiB || c.Backend != vm.BackendQEMU || !c.Clipboard {
		t.Errorf("imported %+v", c)
	}
	if importertest.FileSum(t, info.Bundle().DiskPath(c.Disks[0].File)) != sum {
		t.Error("the disk differs from the bundle's")
	}
}
