package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// newVM makes a stopped VM with one 4 MiB disk holding "first" at offset 0
// and an EFI store.
func newVM(t *testing.T) (*vm.Library, vm.Bundle) {
	t.Helper()
	lib, err := vm.OpenLibrary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := vm.NewConfig("box", vm.OSLinux)
	c.Backend = vm.BackendQEMU
	c.Disks = []vm.Disk{{File: vm.DiskFileName(0), Size: 4 * vm.MiB}}
	if _, err := lib.Create(context.Background(), c, vm.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b, _ := lib.Bundle("box")
	writeAt(t, b.DiskPath(vm.DiskFileName(0)), "first")
	if err := os.WriteFile(b.EFIVarsPath(), []byte("vars-first"), 0o644); err != nil {
		t.Fatal(err)
	}
	return lib, b
}

func writeAt(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(text), 0); err != nil {
		t.Fatal(err)
	}
}

func readHead(t *testing.T, path string, n int) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, n)
	f.ReadAt(buf, 0)
	return string(bytes.TrimRight(buf, "\x00"))
}

func clock(s string) Options {
	return Options{Now: func() time.Time { t, _ := time.Parse(time.RFC3339, s); return t }}
}

func TestTakeChangeRestoreGivesBackTheDiskAndKeepsTheSnapshot(t *testing.T) {
	ctx := context.Background()
	lib, b := newVM(t)
	disk := b.DiskPath(vm.DiskFileName(0))
	res, err := Take(ctx, b, "before", clock("2026-01-02T03:04:05Z"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Info.Broken() || res.Info.Memory || !res.Info.Created.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("new snapshot reads %+v", res.Info)
	}
	writeAt(t, disk, "later")
	os.WriteFile(b.EFIVarsPath(), []byte("vars-later"), 0o644)
	if _, err := lib.Edit(ctx, "box", func(c *vm.Config) error { c.CPUs = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := readHead(t, filepath.Join(b.SnapshotDir("before"), vm.DiskFileName(0)), 5); got != "first" {
		t.Fatalf("writing the VM's disk changed the snapshot's copy: %q", got)
	}
	for round := 0; round < 2; round++ { // the snapshot stays for the next restore
		if _, err := Restore(ctx, b, "before"); err != nil {
			t.Fatal(err)
		}
		if got := readHead(t, disk, 5); got != "first" {
			t.Fatalf("round %d: disk after restore starts %q, want first", round, got)
		}
		if got, _ := os.ReadFile(b.EFIVarsPath()); string(got) != "vars-first" {
			t.Errorf("round %d: EFI store after restore = %q", round, got)
		}
		c, err := vm.LoadConfig(b.ConfigPath())
		if err != nil || c.CPUs == 3 {
			t.Errorf("round %d: config after restore: %v cpus=%d, want the config as it was", round, err, c.CPUs)
		}
		writeAt(t, disk, "again")
	}
	if _, err := os.Stat(b.RestoringDir()); !os.IsNotExist(err) {
		t.Errorf("the restore left its staging folder: %v", err)
	}
}

func TestTakeRefusesARunningVMAndATakenName(t *testing.T) {
	ctx := context.Background()
	_, b := newVM(t)
	if _, err := Take(ctx, b, "one", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Take(ctx, b, "one", Options{}); !errors.Is(err, ErrExists) {
		t.Errorf("same name again: %v, want ErrExists", err)
	}
	if _, err := Take(ctx, b, ".hidden", Options{}); !errors.Is(err, vm.ErrInvalidName) {
		t.Errorf("bad name: %v", err)
	}
	lock, err := b.TryLock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	_, err = Take(ctx, b, "two", Options{})
	if !errors.Is(err, vm.ErrRunning) || !strings.Contains(err.Error(), "--live") {
		t.Errorf("snapshot of a locked VM: %v, want ErrRunning mentioning --live", err)
	}
	if _, err := Restore(ctx, b, "one"); !errors.Is(err, vm.ErrRunning) {
		t.Errorf("restore of a locked VM: %v", err)
	}
}

func TestListShowsDamagedSnapshotsWithTheReasonAndHidesUnfinishedOnes(t *testing.T) {
	ctx := context.Background()
	_, b := newVM(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		if _, err := Take(ctx, b, n, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(b.SnapshotDir("b"), vm.DiskFileName(0)))
	os.WriteFile(filepath.Join(b.SnapshotDir("c"), vm.SnapshotManifestFile), []byte("{torn"), 0o644)
	os.Truncate(filepath.Join(b.SnapshotDir("d"), vm.EFIVarsFile), 2)
	unfinished := filepath.Join(b.SnapshotsDir(), takingPrefix+"x")
	os.MkdirAll(unfinished, 0o755)
	os.WriteFile(filepath.Join(unfinished, "disk-0.img"), []byte("half"), 0o644)

	infos, err := List(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "", "b": "disk-0.img is missing", "c": "snapshot.json is damaged", "d": "efi-vars.fd is 2 bytes"}
	if len(infos) != len(want) {
		t.Fatalf("listed %d snapshots, want %d", len(infos), len(want))
	}
	for _, i := range infos {
		w := want[i.Name]
		if (w == "") != !i.Broken() || !strings.Contains(i.Error, w) {
			t.Errorf("%s: error %q, want containing %q", i.Name, i.Error, w)
		}
	}
	if _, err := Take(ctx, b, "e", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(unfinished); !os.IsNotExist(err) {
		t.Errorf("the next snapshot left an unfinished snapshot's folder: %v", err)
	}
	if _, err := Restore(ctx, b, "b"); !errors.Is(err, ErrBroken) {
		t.Errorf("restore of a damaged snapshot: %v, want ErrBroken", err)
	}
	if got := readHead(t, b.DiskPath(vm.DiskFileName(0)), 5); got != "first" {
		t.Errorf("a refused restore changed the disk: %q", got)
	}
}

func TestDeleteFreesTheSnapshot(t *testing.T) {
	ctx := context.Background()
	_, b := newVM(t)
	Take(ctx, b, "gone", Options{})
	if err := Delete(b, "gone"); err != nil {
		t.Fatal(err)
	}
	if infos, _ := List(b); len(infos) != 0 {
		t.Errorf("still listed: %+v", infos[0])
	}
	entries, _ := os.ReadDir(b.SnapshotsDir())
	if len(entries) != 0 {
		t.Errorf("snapshots/ still holds %s", entries[0].Name())
	}
	if err := Delete(b, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting it again: %v", err)
	}
}

func TestSuspendedVMSnapshotCarriesItsMemoryAndRestoreSetsTheSavedState(t *testing.T) {
	ctx := context.Background()
	_, b := newVM(t)
	os.WriteFile(b.SavedStatePath(), []byte("memory"), 0o600)
	res, err := Take(ctx, b, "suspended", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Info.Memory {
		t.Error("a suspended VM's snapshot is not marked with memory")
	}
	Take(ctx, b, "nomem-later", Options{}) // also with memory (still suspended)
	os.Remove(b.SavedStatePath())
	Take(ctx, b, "stopped", Options{})

	if _, err := Restore(ctx, b, "suspended"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(b.SavedStatePath()); string(got) != "memory" {
		t.Errorf("restoring a snapshot with memory left saved state %q", got)
	}
	if _, err := Restore(ctx, b, "stopped"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.SavedStatePath()); !os.IsNotExist(err) {
		t.Error("restoring a snapshot without memory kept a saved state that no longer fits the disks")
	}
}

func TestRecoverFinishesACommittedRestoreAndDropsAnUncommittedOne(t *testing.T) {
	ctx := context.Background()
	_, b := newVM(t)
	Take(ctx, b, "s", Options{})
	writeAt(t, b.DiskPath(vm.DiskFileName(0)), "later")

	// A restore killed while staging: the VM is as it was.
	os.MkdirAll(b.RestoringDir(), 0o755)
	os.WriteFile(filepath.Join(b.RestoringDir(), vm.DiskFileName(0)), []byte("half"), 0o644)
	if err := Recover(b); err != nil {
		t.Fatal(err)
	}
	if got := readHead(t, b.DiskPath(vm.DiskFileName(0)), 5); got != "later" {
		t.Errorf("an uncommitted restore changed the disk: %q", got)
	}
	if _, err := os.Stat(b.RestoringDir()); !os.IsNotExist(err) {
		t.Error("the uncommitted staging folder is still there")
	}

	// A restore killed after its commit, one file moved: Recover finishes it.
	os.MkdirAll(b.RestoringDir(), 0o755)
	vm.CopyDisk(ctx, filepath.Join(b.SnapshotDir("s"), vm.DiskFileName(0)), filepath.Join(b.RestoringDir(), vm.DiskFileName(0)), nil)
	os.WriteFile(b.EFIVarsPath(), []byte("vars-first"), 0o644) // "already moved"
	j, _ := json.Marshal(journal{Snapshot: "s", Files: []string{vm.EFIVarsFile, vm.DiskFileName(0)}, Remove: []string{vm.SavedStateFile}})
	os.WriteFile(filepath.Join(b.RestoringDir(), vm.RestoreCommitFile), j, 0o644)
	os.WriteFile(b.SavedStatePath(), []byte("stale"), 0o644)
	if err := Recover(b); err != nil {
		t.Fatal(err)
	}
	if got := readHead(t, b.DiskPath(vm.DiskFileName(0)), 5); got != "first" {
		t.Errorf("the committed restore was not finished: disk starts %q", got)
	}
	if _, err := os.Stat(b.SavedStatePath()); !os.IsNotExist(err) {
		t.Error("the committed restore did not remove the stale saved state")
	}
}

// fakeLive is a running VM for TakeLive and Keep.
type fakeLive struct {
	state      vm.State
	captureErr error
	events     []string
}

func (f *fakeLive) State() vm.State { return f.state }
func (f *fakeLive) Pause(context.Context) error {
	f.events = append(f.events, "pause")
	f.state = vm.StatePaused
	return nil
}
func (f *fakeLive) Resume(context.Context) error {
	f.events = append(f.events, "resume")
	f.state = vm.StateRunning
	return nil
}
func (f *fakeLive) CaptureState(_ context.Context, path string) error {
	f.events = append(f.events, "capture")
	if f.captureErr != nil {
		return f.captureErr
	}
	return os.WriteFile(path, []byte("ram"), 0o600)
}

func TestTakeLivePausesCapturesCopiesAndResumes(t *testing.T) {
	ctx := context.Background()
	_, b := newVM(t)
	c, _ := vm.LoadConfig(b.ConfigPath())
	inst := &fakeLive{state: vm.StateRunning}
	res, err := TakeLive(ctx, b, c, "live", inst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(inst.events, ","); got != "pause,capture,resume" {
		t.Errorf("steps %s, want pause,capture,resume", got)
	}
	if !res.Info.Memory || res.Info.Broken() {
		t.Errorf("live snapshot reads %+v", res.Info)
	}
	if got, _ := os.ReadFile(filepath.Join(b.SnapshotDir("live"), vm.SavedStateFile)); string(got) != "ram" {
		t.Errorf("memory state in the snapshot: %q", got)
	}
	// config.toml edited while the VM runs: the live snapshot keeps the
	// config the VM runs with, which its memory fits.
	edited := *c
	edited.CPUs = 7
	if err := vm.SaveConfig(b.ConfigPath(), &edited); err != nil {
		t.Fatal(err)
	}
	if _, err := TakeLive(ctx, b, c, "after edit", inst, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, err := vm.LoadConfig(filepath.Join(b.SnapshotDir("after edit"), vm.ConfigFile)); err != nil || got.CPUs != c.CPUs {
		t.Errorf("live snapshot's config: %v, cpus %d, want the running %d", err, got.CPUs, c.CPUs)
	}
}

func TestRefusedLiveSnapshotLeavesNothingAndTheVMRuns(t *testing.T) {
	ctx := context.Background()
	_, b := newVM(t)
	c, _ := vm.LoadConfig(b.ConfigPath())
	inst := &fakeLive{state: vm.StateRunning, captureErr: errors.New("the share is mounted")}
	_, err := TakeLive(ctx, b, c, "refused", inst, Options{})
	if err == nil || !strings.Contains(err.Error(), "the share is mounted") {
		t.Fatalf("refused snapshot said %v", err)
	}
	if inst.state != vm.StateRunning {
		t.Error("the VM was left paused")
	}
	if entries, _ := os.ReadDir(b.SnapshotsDir()); len(entries) != 0 {
		t.Errorf("a refused snapshot left %s", entries[0].Name())
	}
	type noCapture struct{ Live }
	if _, err := TakeLive(ctx, b, c, "x", noCapture{inst}, Options{}); !errors.Is(err, vm.ErrUnsupported) {
		t.Errorf("a backend without memory save: %v", err)
	}
}

func TestCloneFromSnapshotIsANewVMAsTheSnapshotWas(t *testing.T) {
	ctx := context.Background()
	lib, b := newVM(t)
	Take(ctx, b, "s", Options{})
	writeAt(t, b.DiskPath(vm.DiskFileName(0)), "later")
	info, err := CloneFrom(ctx, lib, "box", "s", "box2")
	if err != nil {
		t.Fatal(err)
	}
	nb := info.Bundle()
	if got := readHead(t, nb.DiskPath(vm.DiskFileName(0)), 5); got != "first" {
		t.Errorf("clone's disk starts %q, want the snapshot's", got)
	}
	if st, _ := os.Stat(nb.DiskPath(vm.DiskFileName(0))); st.Size() != 4*int64(vm.MiB) {
		t.Errorf("clone's disk is %d bytes", st.Size())
	}
	orig, _ := vm.LoadConfig(b.ConfigPath())
	if info.Config.Network.MAC == orig.Network.MAC {
		t.Error("the clone has the same MAC address as its source")
	}
}

type copyKeeper struct{}

func (copyKeeper) KeepThrowaway(ctx context.Context, src, dst string) error {
	_, err := vm.CopyDisk(ctx, src, dst, nil)
	return err
}

func TestKeepMakesANewVMOfTheThrowawayDisksAndLeavesTheBase(t *testing.T) {
	ctx := context.Background()
	lib, b := newVM(t)
	c, _ := vm.LoadConfig(b.ConfigPath())
	throwaway := filepath.Join(t.TempDir(), "disk-0.img")
	vm.CopyDisk(ctx, b.DiskPath(vm.DiskFileName(0)), throwaway, nil)
	writeAt(t, throwaway, "session")
	spec := &vm.RunSpec{Bundle: b, Config: c, Disks: []string{throwaway}, EFIVars: b.EFIVarsPath(), Disposable: true}
	inst := &fakeLive{state: vm.StateRunning}
	info, err := Keep(ctx, lib, spec, "kept", inst, copyKeeper{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readHead(t, info.Bundle().DiskPath(vm.DiskFileName(0)), 7); got != "session" {
		t.Errorf("kept VM's disk starts %q, want the session's", got)
	}
	if got := readHead(t, b.DiskPath(vm.DiskFileName(0)), 5); got != "first" {
		t.Errorf("the base changed: %q", got)
	}
	if info.Config.Disposable || inst.state != vm.StateRunning {
		t.Errorf("kept VM disposable=%v, session state %s", info.Config.Disposable, inst.state)
	}
	spec.Disposable = false
	if _, err := Keep(ctx, lib, spec, "again", inst, copyKeeper{}); err == nil {
		t.Error("keeping a run that is not disposable succeeded")
	}
}

func TestCloneCarriesSnapshotsAndRenameKeepsThem(t *testing.T) {
	ctx := context.Background()
	lib, b := newVM(t)
	if _, err := Take(ctx, b, "s", Options{}); err != nil {
		t.Fatal(err)
	}
	info, err := lib.Clone(ctx, "box", "twin", nil)
	if err != nil {
		t.Fatal(err)
	}
	twin := info.Bundle()
	infos, err := List(twin)
	if err != nil || len(infos) != 1 || infos[0].Broken() {
		t.Fatalf("the clone's snapshots: %v %+v", err, infos)
	}
	writeAt(t, twin.DiskPath(vm.DiskFileName(0)), "twin!")
	if _, err := Restore(ctx, twin, "s"); err != nil {
		t.Fatal(err)
	}
	c, _ := vm.LoadConfig(twin.ConfigPath())
	if got := readHead(t, twin.DiskPath(vm.DiskFileName(0)), 5); got != "first" || c.Network.MAC != info.Config.Network.MAC || c.Name != "twin" {
		t.Errorf("restored clone: disk %q, MAC %s (own %s), name %q", got, c.Network.MAC, info.Config.Network.MAC, c.Name)
	}
	if _, err := lib.Rename(ctx, "twin", "renamed"); err != nil {
		t.Fatal(err)
	}
	rb, _ := lib.Bundle("renamed")
	if infos, _ := List(rb); len(infos) != 1 || infos[0].Broken() {
		t.Errorf("snapshots after rename: %+v", infos)
	}
	if _, err := Restore(ctx, rb, "s"); err != nil {
		t.Fatal(err)
	}
	if c, _ := vm.LoadConfig(rb.ConfigPath()); c.Name != "renamed" {
		t.Errorf("after restore the renamed VM's config says %q", c.Name)
	}
}
