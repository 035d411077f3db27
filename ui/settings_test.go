package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
)

func TestInvalidMemoryShowsItsErrorAndBlocksSave(t *testing.T) {
	tests := []struct {
		name, typed, says string
	}{
		{"too little", "100MiB", "give the VM at least 512MiB"},
		{"not a size", "lots", `"lots" is not a size`},
		{"no number", "GiB", "is not a size"},
		{"decimal unit", "8GB", "did you mean 8GiB?"},
		{"no unit", "8192", `"8192" has no unit`},
		{"not whole MiB", "1536.5MiB", "is 1573376KiB, not a whole number of MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.makeVM("Demo", nil)
			lw := h.gui.Window()
			h.waitText(lw, "Demo")
			tap(t, lw, "Edit Settings")
			w := h.windowTitled("“Demo” Settings")
			tapText(t, w, "System")

			w.Canvas().Focus(entryAfter(t, w, "Memory"))
			typeInto(t, w, tt.typed)
			if !hasText(w, tt.says) {
				t.Errorf("memory %q does not say %q; the window shows %q", tt.typed, tt.says, texts(w))
			}
			if !hasText(w, "Fix the settings marked in red before saving: System.") {
				t.Errorf("the window does not say where the problem is; it shows %q", texts(w))
			}
			if !findButton(t, w, "Save").Disabled() {
				t.Fatal("Save is enabled with an invalid memory size")
			}

			typeInto(t, w, "8GiB")
			if hasText(w, tt.says) {
				t.Errorf("the error %q stays after a valid size", tt.says)
			}
			tap(t, w, "Save")
			h.loop.WaitFor(t, "the settings to close", func() bool { return !h.hasWindow("“Demo” Settings") })
			info, err := h.lib.Inspect(context.Background(), "Demo")
			if err != nil {
				t.Fatal(err)
			}
			if info.Config.Memory != 8*vm.GiB {
				t.Errorf("saved memory = %s, want 8GiB", info.Config.Memory)
			}
		})
	}
}

func TestEditingARunningVMSavesForTheNextStart(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Demo", nil)
	lw := h.gui.Window()
	h.waitText(lw, "Demo")
	tap(t, lw, "Start")
	h.loop.WaitFor(t, "running", func() bool { return h.badge("Demo") == "running" })

	tap(t, lw, "Edit Settings")
	w := h.windowTitled("“Demo” Settings")
	if !hasText(w, "“Demo” is running. Changes you save now apply the next time it starts.") {
		t.Errorf("the settings of a running VM do not say when changes apply; they show %q", texts(w))
	}
	tapText(t, w, "System")
	w.Canvas().Focus(entryAfter(t, w, "CPUs"))
	typeInto(t, w, "3")
	tap(t, w, "Save for Next Start")
	h.waitText(lw, "uses the new ones the next time it starts")
	if h.badge("Demo") != "running" {
		t.Error("saving settings stopped the VM")
	}
	info, _ := h.lib.Inspect(context.Background(), "Demo")
	if info.Config.CPUs != 3 {
		t.Errorf("saved CPUs = %d, want 3", info.Config.CPUs)
	}
}

func TestSettingsTheHostCannotUseAreGreyedWithItsReason(t *testing.T) {
	const why = "Rosetta needs a Mac with Apple silicon; this computer is x86_64."
	h := newHarness(t, withHost(map[ui.Feature]string{ui.FeatureRosetta: why}))
	h.makeVM("Demo", nil)
	lw := h.gui.Window()
	h.waitText(lw, "Demo")
	tap(t, lw, "Edit Settings")
	w := h.windowTitled("“Demo” Settings")
	tapText(t, w, "Clipboard & Rosetta")
	if !check(t, w, "Run x86_64 Linux programs with Rosetta").Disabled() {
		t.Error("the Rosetta setting is not greyed out on a host without Rosetta")
	}
	if !hasText(w, why) {
		t.Errorf("the greyed-out setting does not say why; the window shows %q", texts(w))
	}
	if check(t, w, "Share the clipboard with the guest").Disabled() {
		t.Error("the clipboard setting is greyed out though the host allows it")
	}
}

func TestSettingsFollowTheBootModeAndShares(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Demo", nil)
	share := t.TempDir()
	h.files.Picks = []string{share}
	lw := h.gui.Window()
	h.waitText(lw, "Demo")
	tap(t, lw, "Edit Settings")
	w := h.windowTitled("“Demo” Settings")

	tapText(t, w, "Shared Folders")
	tap(t, w, "Add Folder…")
	tag := entryAfter(t, w, "Tag")
	if want := share[strings.LastIndex(share, "/")+1:]; tag.Text != want {
		t.Errorf("the new share's tag = %q, want the folder's name %q", tag.Text, want)
	}
	w.Canvas().Focus(tag)
	typeInto(t, w, "has space")
	if !hasText(w, "has spaces or punctuation") || !findButton(t, w, "Save").Disabled() {
		t.Fatalf("a tag with a space is accepted; the window shows %q", texts(w))
	}
	typeInto(t, w, "src")
	tap(t, w, "Save")
	h.loop.WaitFor(t, "the settings to close", func() bool { return !h.hasWindow("“Demo” Settings") })
	info, _ := h.lib.Inspect(context.Background(), "Demo")
	if len(info.Config.Shares) != 1 || info.Config.Shares[0].Path != share || info.Config.Shares[0].Tag != "src" {
		t.Errorf("saved shares = %+v, want %s as tag src", info.Config.Shares, share)
	}
}
