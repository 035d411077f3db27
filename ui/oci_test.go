package ui_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/oci"
	"github.com/vivarium-vm/vivarium/vm/oci/ocitest"
)

var _ ui.Registry = oci.Registries{}

// TestPushThenPullThroughTheWindow pushes a VM with "Push…" to a real
// registry and makes a new VM from it with the wizard's "Pull from a
// Registry…", as a person does.
func TestPushThenPullThroughTheWindow(t *testing.T) {
	reg := ocitest.Require(t)
	docker, err := ocitest.DockerConfig(t.TempDir(), ocitest.Password, reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", docker)
	h := newHarness(t, func(h *harness, d *ui.Deps) { d.Registry = oci.Registries{Lib: h.lib} })
	h.makeVM("Shared", func(c *vm.Config) { c.Disks = []vm.Disk{{Size: 8 * vm.MiB}} })
	disk := filepath.Join(h.lib.Root, "Shared.vm", vm.DiskFileName(0))
	if err := os.WriteFile(disk+".tmp", bytes.Repeat([]byte("shared disk "), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(disk + ".tmp")
	f, _ := os.OpenFile(disk, os.O_RDWR, 0)
	f.WriteAt(data, 1<<20)
	f.Close()

	w := h.gui.Window()
	h.waitText(w, "Shared")
	tapText(t, w, "Shared")
	tap(t, w, "Push…")
	h.waitText(w, "Push “Shared”")
	typeInto(t, w, reg.Host+"/team/shared:v1")
	check(t, w, "Plain HTTP (a local or test registry you trust)").SetChecked(true)
	tap(t, w, "Push")
	h.waitText(w, "Pushed")
	tap(t, w, "OK")

	tap(t, w, "") // the sidebar's + button
	ww := h.windowTitled("Create a VM")
	tapText(t, ww, "Pull from a Registry…")
	h.waitText(ww, "Which image?")
	typeInto(t, ww, reg.Host+"/team/shared:v1")
	check(t, ww, "The registry speaks plain HTTP (a local or test registry you trust)").SetChecked(true)
	tap(t, ww, "Continue")
	h.waitText(ww, "Name your VM")
	if got := entryAfter(t, ww, "Name").Text; got != "shared" {
		t.Errorf("the proposed name = %q, want shared (the repository's)", got)
	}
	tap(t, ww, "Create")
	h.loop.WaitFor(t, "the wizard to close", func() bool { return !h.hasWindow("Create a VM") })
	h.waitText(w, "shared")
	info, err := h.lib.Inspect(context.Background(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(info.Bundle().DiskPath(vm.DiskFileName(0)))
	want, _ := os.ReadFile(disk)
	if !bytes.Equal(got, want) {
		t.Error("the VM pulled through the window has another disk than the one pushed")
	}
}

func TestPullWizardSaysWhatIsWrongWithTheImage(t *testing.T) {
	h := newHarness(t, func(h *harness, d *ui.Deps) { d.Registry = oci.Registries{Lib: h.lib} })
	ww := h.openWizard()
	tapText(t, ww, "Pull from a Registry…")
	typeInto(t, ww, "not a reference")
	h.waitText(ww, "is not an image reference")
	if !findButton(t, ww, "Continue").Disabled() {
		t.Error("Continue is enabled for a bad image reference")
	}
}
