package main

import (
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

// TestAccelNoteSaysWhatAutoPicks: the settings editor's note under the
// accelerator is the runner's own choice and reason for this host.
func TestAccelNoteSaysWhatAutoPicks(t *testing.T) {
	t.Setenv(qemu.AccelEnv, "")
	h := newGUIHost()
	c := vm.NewConfig("n", vm.OSLinux)
	c.Backend = vm.BackendQEMU
	want, err := qemu.ChooseAccel(vm.AccelAuto, c.Arch, qemu.DetectHostProbe())
	if err != nil {
		t.Fatal(err)
	}
	note := h.Note(c, ui.FeatureAccel)
	if !strings.HasPrefix(note, "Runs with ") || !strings.Contains(strings.ToLower(note), want.Accel) {
		t.Errorf("note %q, want it to name %s", note, want.Accel)
	}
	if want.Reason != "" && !strings.Contains(note, want.Reason) {
		t.Errorf("note %q lacks the reason %q", note, want.Reason)
	}
	c.Accel = vm.AccelHVF
	if runtimeNote := h.Note(c, ui.FeatureAccel); !strings.Contains(runtimeNote, "hvf") {
		t.Errorf("hvf on this host: note %q", runtimeNote)
	}
	c.Backend = vm.BackendVZ
	if n := h.Note(c, ui.FeatureAccel); n != "" {
		t.Errorf("a vz VM has an accelerator note: %q", n)
	}
}
