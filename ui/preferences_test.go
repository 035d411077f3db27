package ui_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vivarium-vm/vivarium/ui"
)

func TestPreferencesSayWhatIsWrongAndSave(t *testing.T) {
	h := newHarness(t)
	qemu := writeFile(t, filepath.Join(t.TempDir(), "qemu-system-x86_64"), "#!/bin/sh\n")
	notProgram := writeFile(t, filepath.Join(t.TempDir(), "notes.txt"), "")
	root := t.TempDir()
	h.gui.ShowPreferences() // as the menu's Preferences… does
	w := h.windowTitled("Preferences")

	tests := []struct {
		name, label, typed, says string
	}{
		{"relative library", "Library location", "vms", `"vms" is relative`},
		{"missing QEMU", "QEMU program", "/nowhere/qemu", "/nowhere/qemu does not exist"},
		{"QEMU not a program", "QEMU program", notProgram, "is not a program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.Canvas().Focus(entryAfter(t, w, tt.label))
			typeInto(t, w, tt.typed)
			if !hasText(w, tt.says) || !findButton(t, w, "Save").Disabled() {
				t.Errorf("%s = %q does not say %q, or Save is enabled; the window shows %q", tt.label, tt.typed, tt.says, texts(w))
			}
			typeInto(t, w, "")
		})
	}
	if err := os.Chmod(qemu, 0o755); err != nil {
		t.Fatal(err)
	}
	w.Canvas().Focus(entryAfter(t, w, "Library location"))
	typeInto(t, w, root)
	w.Canvas().Focus(entryAfter(t, w, "QEMU program"))
	typeInto(t, w, qemu)
	tap(t, w, "Save")
	got := ui.LoadPreferences(h.app.Preferences())
	if got.LibraryRoot != root || got.QEMUBinary != qemu {
		t.Errorf("saved %+v, want library %s and QEMU %s", got, root, qemu)
	}
}
