package ui_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
)

// openWizard opens the create wizard the way a new user does.
func (h *harness) openWizard() fyne.Window {
	h.t.Helper()
	tap(h.t, h.gui.Window(), "Create a VM")
	return h.windowTitled("Create a VM")
}

func TestCreateALinuxVMThroughTheWizard(t *testing.T) {
	h := newHarness(t)
	iso := writeFile(t, filepath.Join(t.TempDir(), "debian.iso"), "iso")
	share := t.TempDir()
	h.files.Picks = []string{iso, share}
	w := h.openWizard()

	tapText(t, w, "Linux from an installer ISO")
	h.waitText(w, "Choose the installer")
	tap(t, w, "Browse…")
	tap(t, w, "Continue")

	// Hardware: the keyboard starts in CPUs; Tab moves on to memory.
	h.waitText(w, "Processor, memory and disk")
	typeInto(t, w, "4")
	w.Canvas().FocusNext()
	typeInto(t, w, "8GiB")
	w.Canvas().FocusNext()
	typeInto(t, w, "20GiB")
	press(t, w, fyne.KeyReturn)

	h.waitText(w, "Sharing and options")
	tap(t, w, "Add Folder…")
	h.waitText(w, share)
	tapText(t, w, "Disposable: every run starts fresh and forgets its changes")
	tap(t, w, "Continue")

	// The name starts as "Linux"; type another and press Return to create.
	h.waitText(w, "Name your VM")
	typeInto(t, w, "Desktop")
	press(t, w, fyne.KeyReturn)

	lw := h.gui.Window()
	h.waitText(lw, "Desktop")
	h.loop.WaitFor(t, "the wizard to close", func() bool { return !h.hasWindow("Create a VM") })
	info, err := h.lib.Inspect(context.Background(), "Desktop")
	if err != nil {
		t.Fatal(err)
	}
	c := info.Config
	if c.Boot.Mode != vm.BootEFI || c.Boot.ISO != iso {
		t.Errorf("boot = %+v, want EFI from %s", c.Boot, iso)
	}
	if c.CPUs != 4 || c.Memory != 8*vm.GiB || len(c.Disks) != 1 || c.Disks[0].Size != 20*vm.GiB {
		t.Errorf("hardware = %d CPUs, %s, disks %+v; want 4, 8GiB, one 20GiB disk", c.CPUs, c.Memory, c.Disks)
	}
	if !c.Disposable || !c.Clipboard || len(c.Shares) != 1 || c.Shares[0].Path != share {
		t.Errorf("options = disposable %v, clipboard %v, shares %+v", c.Disposable, c.Clipboard, c.Shares)
	}
	if h.badge("Desktop") != "stopped" {
		t.Errorf("the new VM's badge = %q, want stopped", h.badge("Desktop"))
	}
}

func TestWizardSaysWhatIsWrongBeforeCreating(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Linux", nil)
	w := h.gui.Window()
	h.waitText(w, "Linux · 2 CPUs")
	tap(t, w, "") // the sidebar's + button
	ww := h.windowTitled("Create a VM")

	tapText(t, ww, "Linux from an installer ISO")
	if !findButton(t, ww, "Continue").Disabled() {
		t.Error("Continue is enabled with no installer chosen")
	}
	ww.Canvas().Focus(entryAfter(t, ww, "Installer ISO"))
	typeInto(t, ww, "/nowhere/debian.iso")
	h.waitText(ww, "/nowhere/debian.iso")
	if !hasText(ww, "/nowhere/debian.iso does not exist") || !findButton(t, ww, "Continue").Disabled() {
		t.Fatalf("a missing ISO is accepted; the wizard shows %q", texts(ww))
	}
	typeInto(t, ww, writeFile(t, filepath.Join(t.TempDir(), "debian.iso"), "iso"))
	tap(t, ww, "Continue")

	typeInto(t, ww, "0")
	if !hasText(ww, "a VM needs at least 1 CPU") || !findButton(t, ww, "Continue").Disabled() {
		t.Fatalf("0 CPUs is accepted; the wizard shows %q", texts(ww))
	}
	typeInto(t, ww, "2")
	ww.Canvas().Focus(entryAfter(t, ww, "Memory"))
	typeInto(t, ww, "8GB")
	if !hasText(ww, "did you mean 8GiB?") || !findButton(t, ww, "Continue").Disabled() {
		t.Fatalf("8GB of memory is accepted; the wizard shows %q", texts(ww))
	}
	typeInto(t, ww, "4GiB")
	tap(t, ww, "Continue")
	tap(t, ww, "Continue")

	// "Linux" is taken, so the wizard offers "Linux 2"; typing "Linux" is refused.
	if got := entryAfter(t, ww, "Name").Text; got != "Linux 2" {
		t.Errorf("the suggested name = %q, want Linux 2", got)
	}
	typeInto(t, ww, "Linux")
	if !hasText(ww, `a VM called "Linux" already exists`) || !findButton(t, ww, "Create").Disabled() {
		t.Fatalf("a taken name is accepted; the wizard shows %q", texts(ww))
	}
	tap(t, ww, "Back")
	h.waitText(ww, "Sharing and options")
}

func TestCreateFromAnExistingDiskImageCopiesIt(t *testing.T) {
	h := newHarness(t)
	data := bytes.Repeat([]byte("vivarium"), 1<<17) // 1 MiB
	image := writeFile(t, filepath.Join(t.TempDir(), "disk.img"), string(data))
	h.files.Picks = []string{image}
	w := h.openWizard()
	tapText(t, w, "An existing disk image")
	tap(t, w, "Browse…")
	tap(t, w, "Continue")
	if hasText(w, "Disk size") {
		t.Error("the wizard asks for a disk size though the image has one")
	}
	tap(t, w, "Continue")
	tap(t, w, "Continue")
	tap(t, w, "Create")
	h.loop.WaitFor(t, "the wizard to close", func() bool { return !h.hasWindow("Create a VM") })

	info, err := h.lib.Inspect(context.Background(), "Linux")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(info.Dir, "disk-0.img"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("the VM's disk is %d bytes unlike the image's %d", len(got), len(data))
	}
	if orig, _ := os.ReadFile(image); !bytes.Equal(orig, data) {
		t.Error("creating the VM changed the original image")
	}
}

func TestMacOSInstallShowsProgressAndCanBeCancelled(t *testing.T) {
	h := newHarness(t)
	h.inst.Block = true
	w := h.openWizard()
	tapText(t, w, "macOS")
	h.waitText(w, "The latest macOS, downloaded from Apple")
	tap(t, w, "Continue")
	tap(t, w, "Continue")
	tap(t, w, "Continue")
	if got := entryAfter(t, w, "Name").Text; got != "macOS" {
		t.Errorf("the suggested name = %q, want macOS", got)
	}
	tap(t, w, "Create")
	h.waitText(w, "Downloading macOS…")
	tap(t, w, "Cancel")
	h.waitText(w, "Cancelled: nothing was created.")

	if got := h.inst.Sources(); !slices.Equal(got, []string{"latest"}) {
		t.Errorf("installed from %q, want latest", got)
	}
	entries, _ := os.ReadDir(h.lib.Root)
	if len(entries) != 0 {
		t.Errorf("the cancelled VM left %v in the library", entries)
	}
	// The wizard is back where it was, ready to try again.
	h.inst.Block = false
	tap(t, w, "Create")
	h.loop.WaitFor(t, "the wizard to close", func() bool { return !h.hasWindow("Create a VM") })
	info, err := h.lib.Inspect(context.Background(), "macOS")
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.OS != vm.OSMacOS || info.Config.Backend != vm.BackendVZ {
		t.Errorf("created %s on %s, want macOS on vz", info.Config.OS, info.Config.Backend)
	}
}

func TestMacOSIsGreyedOutWithTheHostsReason(t *testing.T) {
	tests := []struct {
		name string
		opts []option
		why  string
	}{
		{"host cannot", []option{withHost(map[ui.Feature]string{ui.FeatureMacOSGuest: "macOS guests need a Mac with Apple silicon."})}, "macOS guests need a Mac with Apple silicon."},
		{"no installer", []option{withoutInstaller()}, "Installing macOS is not available in this build of Vivarium."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts...)
			w := h.openWizard()
			if !hasText(w, tt.why) {
				t.Errorf("the macOS choice does not say %q; the wizard shows %q", tt.why, texts(w))
			}
			tapText(t, w, "macOS")
			if hasText(w, "Which macOS?") {
				t.Error("the greyed-out macOS choice can still be chosen")
			}
		})
	}
}
