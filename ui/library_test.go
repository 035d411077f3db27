package ui_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
)

func TestEmptyLibraryOffersOneObviousButton(t *testing.T) {
	h := newHarness(t)
	w := h.gui.Window()
	if !hasText(w, "Welcome to Vivarium") {
		t.Errorf("the empty library does not welcome; it shows %q", texts(w))
	}
	tap(t, w, "Create a VM")
	if !h.hasWindow("Create a VM") {
		t.Error("Create a VM opened no wizard")
	}
}

func TestLibraryListsVMsWithStateAndSummary(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Desktop", func(c *vm.Config) { c.CPUs = 4; c.Memory = 8 * vm.GiB })
	h.makeVM("Server", nil)
	w := h.gui.Window()
	h.waitText(w, "Server")
	tapText(t, w, "Desktop")
	for _, want := range []string{"Desktop", "Linux · 4 CPUs · 8.0 GiB", "disk-0.img: 0 B used of 1.0 GiB", "Shared (NAT)"} {
		if !hasText(w, want) {
			t.Errorf("the library does not show %q; it shows %q", want, texts(w))
		}
	}
	if got := h.badge("Desktop"); got != "stopped" {
		t.Errorf("badge = %q, want stopped", got)
	}
}

func TestStartAndStopTurnTheBadge(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Demo", nil)
	w := h.gui.Window()
	h.waitText(w, "Demo")

	tap(t, w, "Start")
	h.loop.WaitFor(t, "the badge to say running", func() bool { return h.badge("Demo") == "running" })
	if !hasButton(w, "Pause") || hasButton(w, "Start") {
		t.Errorf("a running VM offers %q", texts(w))
	}

	// A closed window opens again while the VM runs.
	tap(t, w, "Show Window")
	tap(t, w, "Stop")
	h.loop.WaitFor(t, "the badge to say stopped", func() bool { return h.badge("Demo") == "stopped" })
	if got, want := h.ctl.Calls(), []string{"start Demo", "show Demo", "stop Demo force=false"}; !slices.Equal(got, want) {
		t.Errorf("controller calls = %q, want %q", got, want)
	}
}

func TestPauseResumeAndStartDisposable(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Demo", nil)
	w := h.gui.Window()
	h.waitText(w, "Demo")

	tap(t, w, "Start Disposable")
	h.loop.WaitFor(t, "running", func() bool { return h.badge("Demo") == "running" })
	tap(t, w, "Pause")
	h.loop.WaitFor(t, "paused", func() bool { return h.badge("Demo") == "paused" })
	tap(t, w, "Resume")
	h.loop.WaitFor(t, "running again", func() bool { return h.badge("Demo") == "running" })
	if got, want := h.ctl.Calls(), []string{"start Demo disposable", "pause Demo", "resume Demo"}; !slices.Equal(got, want) {
		t.Errorf("controller calls = %q, want %q", got, want)
	}
}

func TestStopAsksTheGuestThenForcesAfterConfirmation(t *testing.T) {
	h := newHarness(t)
	h.ctl.IgnoreStopRequests = true
	h.makeVM("Stubborn", nil)
	w := h.gui.Window()
	h.waitText(w, "Stubborn")
	tap(t, w, "Start")
	h.loop.WaitFor(t, "running", func() bool { return h.badge("Stubborn") == "running" })

	tap(t, w, "Stop")
	h.waitText(w, "Asked the guest to shut down")
	if h.badge("Stubborn") != "running" {
		t.Fatalf("badge = %q after a stop the guest ignored, want running", h.badge("Stubborn"))
	}
	tap(t, w, "Force Stop…")
	h.waitText(w, "like pulling its power cord")
	tap(t, w, "Force Stop")
	h.loop.WaitFor(t, "stopped", func() bool { return h.badge("Stubborn") == "stopped" })
	if got, want := h.ctl.Calls(), []string{"start Stubborn", "stop Stubborn force=false", "stop Stubborn force=true"}; !slices.Equal(got, want) {
		t.Errorf("controller calls = %q, want %q", got, want)
	}
}

func TestAStartThatFailsSaysWhy(t *testing.T) {
	h := newHarness(t)
	h.ctl.StartErr = vm.ErrLocked
	h.makeVM("Demo", nil)
	w := h.gui.Window()
	h.waitText(w, "Demo")
	tap(t, w, "Start")
	h.waitText(w, "Demo: "+vm.ErrLocked.Error())
	h.loop.WaitFor(t, "the badge to go back to stopped", func() bool { return h.badge("Demo") == "stopped" })
}

func TestBrokenVMShowsItsReason(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Good", nil)
	h.makeVM("Broken", nil)
	writeFile(t, filepath.Join(h.lib.Root, "Broken.vm", vm.ConfigFile), "version = 1\nname = \"Broken\"\nmemory = \"lots\"\n")
	w := h.gui.Window()
	h.waitText(w, "Cannot be read")
	tapText(t, w, "Broken")
	if got := h.badge("Broken"); got != "broken" {
		t.Errorf("badge = %q, want broken", got)
	}
	for _, want := range []string{"This VM cannot be used", "memory", `"lots" is not a size`} {
		if !hasText(w, want) {
			t.Errorf("the broken VM does not say %q; the window shows %q", want, texts(w))
		}
	}
	if hasButton(w, "Start") {
		t.Error("a broken VM offers Start")
	}
	tapText(t, w, "Good")
	if got := h.badge("Good"); got != "stopped" {
		t.Errorf("the good VM's badge = %q, want stopped", got)
	}
}

func TestVMCreatedByTheCLIAppears(t *testing.T) {
	h := newHarness(t)
	w := h.gui.Window()
	// The CLI is another process with its own view of the same folder.
	cli, err := vm.OpenLibrary(h.lib.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Create(context.Background(), vm.NewConfig("From CLI", vm.OSLinux), vm.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitText(w, "From CLI")
	if hasText(w, "Welcome to Vivarium") {
		t.Error("the empty state still shows beside the new VM")
	}
	if err := cli.Delete(context.Background(), "From CLI"); err != nil {
		t.Fatal(err)
	}
	h.waitText(w, "Welcome to Vivarium")
}

func TestDeleteIsRefusedWhileRunningAndConfirmedWhenStopped(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Scratch", nil)
	w := h.gui.Window()
	h.waitText(w, "Scratch")
	tap(t, w, "Start")
	h.loop.WaitFor(t, "running", func() bool { return h.badge("Scratch") == "running" })
	tap(t, w, "Delete…")
	h.waitText(w, "Stop it before you delete it.")
	tap(t, w, "OK")
	tap(t, w, "Stop")
	h.loop.WaitFor(t, "stopped", func() bool { return h.badge("Scratch") == "stopped" })

	tap(t, w, "Delete…")
	h.waitText(w, "This cannot be undone.")
	tap(t, w, "Delete")
	h.waitText(w, "Welcome to Vivarium")
	if _, err := h.lib.Inspect(context.Background(), "Scratch"); err == nil {
		t.Error("the VM is still in the library")
	}
}

func TestRenameAndCloneAskForAValidName(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Alpha", nil)
	h.makeVM("Beta", nil)
	w := h.gui.Window()
	h.waitText(w, "Beta")
	tapText(t, w, "Alpha")

	tap(t, w, "Rename…")
	typeInto(t, w, "Beta")
	h.waitText(w, `a VM called "Beta" already exists`)
	if !findButton(t, w, "Rename").Disabled() {
		t.Error("Rename is enabled for a name that is taken")
	}
	typeInto(t, w, "Gamma")
	tap(t, w, "Rename")
	h.waitText(w, "Gamma")
	if _, err := h.lib.Inspect(context.Background(), "Gamma"); err != nil {
		t.Fatalf("after renaming: %v", err)
	}

	tapText(t, w, "Gamma")
	tap(t, w, "Clone…")
	tap(t, w, "Clone")
	h.waitText(w, "Gamma copy")
	if _, err := h.lib.Inspect(context.Background(), "Gamma copy"); err != nil {
		t.Fatalf("after cloning: %v", err)
	}
}

func TestShowInFilesRevealsTheVMFolder(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Demo", nil)
	w := h.gui.Window()
	h.waitText(w, "Demo")
	tap(t, w, "Show in Files")
	if got, want := h.files.Revealed(), []string{filepath.Join(h.lib.Root, "Demo.vm")}; !slices.Equal(got, want) {
		t.Errorf("revealed %q, want %q", got, want)
	}
}

func TestRunningCountFeedsTheDockBadge(t *testing.T) {
	var counts []int
	h := newHarness(t, func(_ *harness, d *ui.Deps) { d.RunningChanged = func(n int) { counts = append(counts, n) } })
	h.makeVM("Demo", nil)
	w := h.gui.Window()
	h.waitText(w, "Demo")
	tap(t, w, "Start")
	h.loop.WaitFor(t, "running", func() bool { return h.badge("Demo") == "running" })
	tap(t, w, "Stop")
	h.loop.WaitFor(t, "stopped", func() bool { return h.badge("Demo") == "stopped" })
	if want := []int{0, 1, 0}; !slices.Equal(counts, want) {
		t.Errorf("running counts = %v, want %v", counts, want)
	}
}

func TestNoShowWindowWhereTheWindowCannotReopen(t *testing.T) {
	h := newHarness(t, withHost(map[ui.Feature]string{ui.FeatureShowWindow: "cannot reopen"}))
	h.makeVM("Demo", nil)
	w := h.gui.Window()
	h.waitText(w, "Demo")
	tap(t, w, "Start")
	h.loop.WaitFor(t, "running", func() bool { return h.badge("Demo") == "running" })
	if hasButton(w, "Show Window") {
		t.Errorf("a VM whose window cannot reopen offers Show Window: %q", texts(w))
	}
}
