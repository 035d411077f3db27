package main

import (
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

// TestAccelSentenceSaysWhatAutoPicks: the settings editor's sentence under
// the accelerator is the runner's own choice and reason on this host.
func TestAccelSentenceSaysWhatAutoPicks(t *testing.T) {
	t.Setenv(qemu.AccelEnv, "")
	h := newGUIHost()
	c := vm.NewConfig("n", vm.OSLinux)
	c.Backend = vm.BackendQEMU
	want, err := qemu.ChooseAccel(vm.AccelAuto, c.Arch, qemu.DetectHostProbe())
	if err != nil {
		t.Fatal(err)
	}
	got := h.Unavailable(c, ui.FeatureAccel)
	if want.Reason != "" && !strings.Contains(got, want.Reason) {
		t.Errorf("sentence %q lacks the reason %q", got, want.Reason)
	}
	if want.Reason == "" && got != "" {
		t.Errorf("sentence %q where %s is simply used", got, want.Accel)
	}
	c.Accel = vm.AccelHVF
	if got := h.Unavailable(c, ui.FeatureAccel); !strings.Contains(got, "hvf") {
		t.Errorf("hvf on this host: %q", got)
	}
	c.Backend = vm.BackendVZ
	if got := h.Unavailable(c, ui.FeatureAccel); got != "" {
		t.Errorf("a vz VM has an accelerator sentence: %q", got)
	}
}
