package main

import (
	"os"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/internal/testguest"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
)

// TestStartStatusPauseStopFromAnotherProcess drives a real guest the way a
// person does from a terminal while the detached runner holds the VM.
func TestStartStatusPauseStopFromAnotherProcess(t *testing.T) {
	v := newGuestVM(t, "life", testguest.Cmdline(nil, []string{testguest.ActionPorts}))
	if out := v.must("start", "--headless", v.name); !strings.Contains(out, "life is running") {
		t.Errorf("start said %q", out)
	}
	text := v.waitConsole(testguest.IdleMarker)
	if !strings.Contains(text, testguest.ReadyMarker) {
		t.Errorf("console lacks the ready marker:\n%s", text)
	}
	if got := v.state(); got != "running" {
		t.Errorf("status = %q, want running", got)
	}
	if out, err := v.run("start", v.name); err == nil || !strings.Contains(out, "already running") {
		t.Errorf("second start: %v %q", err, out)
	}
	if out, err := v.run("delete", v.name); err == nil || !strings.Contains(out, "stop it first") {
		t.Errorf("delete while running: %v %q", err, out)
	}
	v.must("pause", v.name)
	if got := v.state(); got != "paused" {
		t.Errorf("status after pause = %q", got)
	}
	v.must("resume", v.name)
	if got := v.state(); got != "running" {
		t.Errorf("status after resume = %q", got)
	}
	out := v.must("console", "--no-follow", v.name)
	if !strings.Contains(out, testguest.IdleMarker) {
		t.Errorf("vivarium console does not show the guest's console:\n%s", out)
	}
	if out := v.must("stop", v.name); !strings.Contains(out, "the guest shut down") {
		t.Errorf("polite stop said %q; the guest should power off on the ACPI button", out)
	}
	if got := v.state(); got != "stopped" {
		t.Errorf("status after stop = %q", got)
	}
	if v.b.Locked() {
		t.Error("lock still held after stop")
	}
	if _, err := v.run("stop", v.name); err == nil {
		t.Error("stopping a stopped VM succeeded")
	}
}

// TestDisposableRunKeepsBaseAndNormalRunPersists writes the disk from the
// guest: in a disposable run the base image stays byte-identical and the
// throw-away disk is gone after stop; in a normal run the write is there at
// the next boot.
func TestDisposableRunKeepsBaseAndNormalRunPersists(t *testing.T) {
	v := newGuestVM(t, "disp", testguest.Cmdline(nil, []string{testguest.DiskWrite("kept-or-not"), testguest.ActionDiskRead}))
	base := v.b.DiskPath(vm.DiskFileName(0))
	before := importertest.FileSum(t, base)

	v.must("start", "--headless", "--disposable", v.name)
	text := v.waitConsole(testguest.IdleMarker)
	if r, ok := testguest.FindResult(testguest.ParseResults(text), testguest.ActionDiskRead); !ok || r.Detail != "kept-or-not" {
		t.Fatalf("the guest could not write its throw-away disk: %+v\n%s", r, text)
	}
	v.must("stop", "--force", v.name)
	if importertest.FileSum(t, base) != before {
		t.Fatal("a disposable run changed the base disk")
	}
	if _, err := os.Stat(v.b.DisposableDir()); err == nil {
		t.Error("the throw-away disk is still there after stop")
	}

	// The same guest, not disposable: the write reaches the VM's disk.
	v.must("set", v.name, "boot.cmdline="+testguest.Cmdline(nil, []string{testguest.DiskWrite("persisted")}))
	v.must("start", "--headless", v.name)
	v.waitConsole(testguest.IdleMarker)
	v.must("stop", v.name)
	v.must("set", v.name, "boot.cmdline="+testguest.Cmdline(nil, []string{testguest.ActionDiskRead}))
	v.must("start", "--headless", v.name)
	text = v.waitConsole(testguest.IdleMarker)
	v.must("stop", "--force", v.name)
	if r, ok := testguest.FindResult(testguest.ParseResults(text), testguest.ActionDiskRead); !ok || r.Detail != "persisted" {
		t.Errorf("a normal run's write did not persist to the next boot: %+v", r)
	}
}
