package ui_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/snapshot"
)

func withSnapshots() option {
	return func(h *harness, d *ui.Deps) { d.Snapshots = &snapshot.Manager{Library: h.lib} }
}

// tapLast taps the last visible button labelled label: the snapshot rows
// come after the VM's own buttons.
func tapLast(t *testing.T, w fyne.Window, label string) {
	t.Helper()
	var last *widget.Button
	for _, o := range visibleIn(w.Canvas().Content()) {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			last = b
		}
	}
	if last == nil {
		t.Fatalf("no button %q", label)
	}
	test.Tap(last)
}

func diskHead(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 8)
	f.ReadAt(buf, 0)
	return string(bytes.TrimRight(buf, "\x00"))
}

func writeHead(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteAt([]byte(text), 0)
}

func TestSnapshotsSectionTakesRestoresAndDeletesOne(t *testing.T) {
	h := newHarness(t, withSnapshots())
	h.makeVM("Demo", nil)
	w := h.gui.Window()
	h.waitText(w, "Demo")
	tapText(t, w, "Demo")
	h.waitText(w, "No snapshots yet")
	b, _ := h.lib.Bundle("Demo")
	disk := b.DiskPath(vm.DiskFileName(0))
	writeHead(t, disk, "first")

	tap(t, w, "Take Snapshot…")
	h.waitText(w, "its disks and settings are kept")
	typeInto(t, w, "Clean install")
	tap(t, w, "Take Snapshot")
	h.waitText(w, "Clean install")
	if _, err := os.Stat(filepath.Join(b.SnapshotDir("Clean install"), vm.SnapshotManifestFile)); err != nil {
		t.Fatalf("the window's snapshot is not on disk: %v", err)
	}

	writeHead(t, disk, "later")
	tap(t, w, "Restore…")
	h.waitText(w, "since")
	h.waitText(w, "is lost")
	tap(t, w, "Restore")
	h.loop.WaitFor(t, "the disk to be restored", func() bool { return diskHead(t, disk) == "first" })

	h.loop.WaitFor(t, "the snapshot's row", func() bool { return hasButton(w, "Restore…") })
	tapLast(t, w, "Delete…")
	h.waitText(w, "Its space is freed")
	tap(t, w, "Delete")
	h.waitText(w, "No snapshots yet")
	if infos, _ := snapshot.List(b); len(infos) != 0 {
		t.Errorf("after Delete the VM still has %d snapshots", len(infos))
	}
	if _, err := h.lib.Inspect(t.Context(), "Demo"); err != nil {
		t.Errorf("deleting the snapshot touched the VM: %v", err)
	}
}

func TestSnapshotsSectionShowsADamagedSnapshotWithWhy(t *testing.T) {
	h := newHarness(t, withSnapshots())
	h.makeVM("Demo", nil)
	b, _ := h.lib.Bundle("Demo")
	if _, err := snapshot.Take(t.Context(), b, "old", snapshot.Options{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(b.SnapshotDir("old"), vm.DiskFileName(0)))
	w := h.gui.Window()
	h.waitText(w, "Demo")
	tapText(t, w, "Demo")
	h.waitText(w, "Damaged: disk-0.img is missing")
	if hasButton(w, "Restore…") {
		t.Error("a damaged snapshot offers Restore")
	}
}

// keepRecorder is the snapshot manager with Keep recorded: keeping needs a
// runner, which the UI tests do not have.
type keepRecorder struct {
	*snapshot.Manager
	kept chan [2]string
}

func (k *keepRecorder) Keep(_ context.Context, vmName, newName string) error {
	k.kept <- [2]string{vmName, newName}
	return nil
}

func TestKeepAsNewVMIsOfferedForADisposableRun(t *testing.T) {
	rec := &keepRecorder{kept: make(chan [2]string, 1)}
	h := newHarness(t, func(h *harness, d *ui.Deps) {
		rec.Manager = &snapshot.Manager{Library: h.lib}
		d.Snapshots = rec
	})
	h.makeVM("Demo", nil)
	w := h.gui.Window()
	h.waitText(w, "Demo")
	tapText(t, w, "Demo")
	h.waitText(w, "No snapshots yet")
	if hasButton(w, "Keep as New VM…") {
		t.Fatal("a stopped VM offers Keep as New VM")
	}
	b, _ := h.lib.Bundle("Demo")
	// What a disposable run has while it runs: its throw-away disks.
	if err := os.MkdirAll(b.DisposableDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	tap(t, w, "Start Disposable")
	h.loop.WaitFor(t, "Keep as New VM…", func() bool { return hasButton(w, "Keep as New VM…") })
	tap(t, w, "Keep as New VM…")
	h.waitText(w, "the VM it runs from stays as it was")
	tap(t, w, "Keep")
	select {
	case got := <-rec.kept:
		if got != [2]string{"Demo", "Demo kept"} {
			t.Errorf("kept %q, want Demo as “Demo kept”", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Keep was not asked for")
	}
}
