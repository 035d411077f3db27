package main

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/internal/testguest"
	"github.com/vivarium-vm/vivarium/internal/xdisplay"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
)

// TestDroppingAUTMBundleOnTheLibraryWindow drags a .utm from a file
// manager onto the real library window (XDND on an Xvfb display, the
// protocol GNOME Files and every X toolkit speak): it becomes a VM in the
// library with the bundle's disk and settings, and the bundle is untouched.
func TestDroppingAUTMBundleOnTheLibraryWindow(t *testing.T) {
	for _, tool := range []string{"Xvfb", "xdotool", "xwininfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			testguest.SkipOrFail(t, fmt.Sprintf("%s not found (%v): the GUI tests need it (%s)", tool, err, xdisplay.MissingHostTools()))
		}
	}
	importertest.RequireQEMUImg(t)
	src, sum := importertest.UTMBundle(t, "Dropped Debian")
	before := importertest.TreeSum(t, src)
	v := &guestVM{t: t, bin: vivariumBinary(t), home: t.TempDir()}
	display := startXvfb(t)
	v.openGUI(t, display)
	d := xdisplay.Display{Name: display}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	win, err := d.WaitWindow(ctx, "Vivarium")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.DropFiles(ctx, win, src); err != nil {
		t.Fatalf("dropping %s on the library window: %v", src, err)
	}
	lib, err := vm.OpenLibrary(v.home)
	if err != nil {
		t.Fatal(err)
	}
	var info *vm.Info
	took, ok := waitFor(time.Minute, func() bool {
		info, err = lib.Inspect(ctx, "Dropped Debian")
		return err == nil && info.State == vm.StateStopped
	})
	if !ok {
		t.Fatalf("no VM \"Dropped Debian\" in the library a minute after the drop (%v)", err)
	}
	t.Logf("the dropped bundle was a VM in the library %.1f s after the drop", took.Seconds())
	if c := info.Config; c.CPUs != 3 || c.Memory != 3*vm.GiB || c.Arch != "x86_64" {
		t.Errorf("the dropped VM has %d CPUs, %s, %s; want the bundle's 3 CPUs, 3 GiB, x86_64", c.CPUs, c.Memory, c.Arch)
	}
	if importertest.FileSum(t, info.Bundle().DiskPath(info.Config.Disks[0].File)) != sum {
		t.Error("the dropped VM's disk differs from the bundle's")
	}
	if importertest.TreeSum(t, src) != before {
		t.Error("the drop changed the .utm")
	}
}
