package ui_test

import (
	"testing"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
)

// On a Mac, Apple Virtualization cannot honour auto_resize either way (no
// resizing before macOS 14, always resizing from 14 on): the setting is
// greyed out with the reason whether it is on or off, so it can never be
// switched into a state the host cannot keep.
func TestAutoResizeTheHostCannotHonourIsGreyedOnOrOff(t *testing.T) {
	const why = "A display that keeps its size (auto_resize = false) needs macOS 13 or earlier on this Mac (it has macOS 14.5)"
	for _, on := range []bool{true, false} {
		h := newHarness(t, withHost(map[ui.Feature]string{ui.FeatureAutoResize: why}))
		h.makeVM("Demo", func(c *vm.Config) { c.Display.AutoResize = on })
		lw := h.gui.Window()
		h.waitText(lw, "Demo")
		tap(t, lw, "Edit Settings")
		w := h.windowTitled("“Demo” Settings")
		tapText(t, w, "Display")
		if !check(t, w, "Follow the window's size").Disabled() {
			t.Errorf("auto_resize = %v: the setting is not greyed out on a host that cannot honour it", on)
		}
		if !hasText(w, why) {
			t.Errorf("auto_resize = %v: the greyed-out setting does not say why; the window shows %q", on, texts(w))
		}
	}
}

// A VM whose backend cannot take screenshots says why the library shows
// its icon instead of its screen.
func TestLibrarySaysWhyAVMHasNoThumbnail(t *testing.T) {
	const why = "No picture of the screen: Apple Virtualization gives apps no way to capture a VM's display, so the library shows the guest's icon"
	h := newHarness(t, withHost(map[ui.Feature]string{ui.FeatureThumbnail: why}))
	h.makeVM("Demo", nil)
	w := h.gui.Window()
	h.waitText(w, "Demo")
	tapText(t, w, "Demo")
	if !hasText(w, why) {
		t.Errorf("the library does not say why there is no thumbnail; it shows %q", texts(w))
	}
}
