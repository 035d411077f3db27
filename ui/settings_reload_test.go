package ui_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
)

// TestHelperProcessSetsMemory is not a test: it is the "other process" of
// TestSaveAfterAChangeElsewhereOffersReloadAndKeepsIt, run as a separate
// process of this test binary, changing a VM's config through the library
// (its lock, its atomic write) the way 'vivarium set' does.
func TestHelperProcessSetsMemory(t *testing.T) {
	root, name := os.Getenv("VIVARIUM_TEST_HELPER_ROOT"), os.Getenv("VIVARIUM_TEST_HELPER_VM")
	if root == "" {
		t.Skip("runs only as the helper process of another test")
	}
	lib := &vm.Library{Root: root}
	if _, err := lib.Edit(context.Background(), name, func(c *vm.Config) error { c.Memory = 2 * vm.GiB; return nil }); err != nil {
		t.Fatal(err)
	}
}

func setMemoryFromAnotherProcess(t *testing.T, lib *vm.Library, name string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessSetsMemory$", "-test.count=1")
	cmd.Env = append(os.Environ(), "VIVARIUM_TEST_HELPER_ROOT="+lib.Root, "VIVARIUM_TEST_HELPER_VM="+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the other process: %v\n%s", err, out)
	}
}

// TestSaveAfterAChangeElsewhereOffersReloadAndKeepsIt: the settings window
// is open, another process changes the config, the person presses Save: the
// window says so and writes nothing; Reload shows both changes; Save then
// keeps both.
func TestSaveAfterAChangeElsewhereOffersReloadAndKeepsIt(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Demo", nil)
	lw := h.gui.Window()
	h.waitText(lw, "Demo")
	tap(t, lw, "Edit Settings")
	w := h.windowTitled("“Demo” Settings")
	tapText(t, w, "System")
	w.Canvas().Focus(entryAfter(t, w, "CPUs"))
	typeInto(t, w, "3")

	setMemoryFromAnotherProcess(t, h.lib, "Demo")
	b, _ := h.lib.Bundle("Demo")
	changed, _ := os.ReadFile(b.ConfigPath())

	tap(t, w, "Save")
	h.waitText(w, "Settings Changed Elsewhere")
	if !hasText(w, "were changed outside this window") {
		t.Errorf("the window does not say what happened; it shows %q", texts(w))
	}
	if now, _ := os.ReadFile(b.ConfigPath()); string(now) != string(changed) {
		t.Fatalf("Save wrote over the other process's change:\n%s", now)
	}
	if !h.hasWindow("“Demo” Settings") {
		t.Fatal("the settings window closed as if saved")
	}

	tap(t, w, "Reload")
	h.loop.WaitFor(t, "the reloaded settings", func() bool { return entryAfter(t, w, "Memory").Text == "2GiB" })
	if got := entryAfter(t, w, "CPUs").Text; got != "3" {
		t.Errorf("after Reload the CPUs field shows %q; the person's 3 was dropped", got)
	}
	tap(t, w, "Save")
	h.loop.WaitFor(t, "the settings to close", func() bool { return !h.hasWindow("“Demo” Settings") })
	info, err := h.lib.Inspect(context.Background(), "Demo")
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.CPUs != 3 || info.Config.Memory != 2*vm.GiB {
		t.Errorf("saved cpus = %d, memory = %s; want both changes: 3 and 2GiB", info.Config.CPUs, info.Config.Memory)
	}
}

// selectAfter finds the first select after the label.
func selectAfter(t *testing.T, w fyne.Window, label string) *widget.Select {
	t.Helper()
	seen := false
	var found *widget.Select
	walk(w.Canvas().Content(), nil, func(o fyne.CanvasObject, _ []fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			if x.Text == label {
				seen = true
			}
		case *widget.Select:
			if seen && found == nil {
				found = x
			}
		}
	})
	if found == nil {
		t.Fatalf("no choice after %q; the window shows %q", label, texts(w))
	}
	return found
}

func TestAcceleratorIsAChoiceForQEMUVMs(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Demo", func(c *vm.Config) { c.Backend = vm.BackendQEMU })
	lw := h.gui.Window()
	h.waitText(lw, "Demo")
	tap(t, lw, "Edit Settings")
	w := h.windowTitled("“Demo” Settings")
	accel := selectAfter(t, w, "Accelerator")
	if accel.Selected != "Automatic" {
		t.Errorf("the accelerator shows %q, want Automatic", accel.Selected)
	}
	if !hasText(w, "else TCG, which emulates the processor") {
		t.Errorf("the accelerator has no hint; the window shows %q", texts(w))
	}
	selectAfter(t, w, "Backend").SetSelected("Apple Virtualization (vz)")
	if hasText(w, "Accelerator") {
		t.Error("the accelerator shows for a vz VM")
	}
	selectAfter(t, w, "Backend").SetSelected("QEMU")
	selectAfter(t, w, "Accelerator").SetSelected("TCG (emulation)")
	tap(t, w, "Save")
	h.loop.WaitFor(t, "the settings to close", func() bool { return !h.hasWindow("“Demo” Settings") })
	info, _ := h.lib.Inspect(context.Background(), "Demo")
	if info.Config.Accel != vm.AccelTCG {
		t.Errorf("saved accel = %q, want tcg", info.Config.Accel)
	}
}

func TestAcceleratorHintIsTheHostsSentence(t *testing.T) {
	const why = "This VM will run with TCG (emulation): this host's /dev/kvm is kvm_pvm."
	h := newHarness(t, withHost(map[ui.Feature]string{ui.FeatureAccel: why}))
	h.makeVM("Demo", func(c *vm.Config) { c.Backend = vm.BackendQEMU })
	lw := h.gui.Window()
	h.waitText(lw, "Demo")
	tap(t, lw, "Edit Settings")
	w := h.windowTitled("“Demo” Settings")
	if !hasText(w, why) {
		t.Errorf("the accelerator does not say which one the VM gets; the window shows %q", texts(w))
	}
	if selectAfter(t, w, "Accelerator").Disabled() {
		t.Error("the accelerator choice is greyed out; the person must be able to choose")
	}
}
