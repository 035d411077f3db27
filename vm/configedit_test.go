package vm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEditOfABrokenConfigChangesNothing(t *testing.T) {
	lib := newTestLibrary(t)
	info := createVM(t, lib, "demo", GiB)
	broken := []byte("version = 1\nname = \"demo\"\nmemory = \"lots\"\n[[disks]]\nfile = \"disk-0.img\"\nsize = \"1GiB\"\n")
	if err := os.WriteFile(info.Bundle().ConfigPath(), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := lib.Edit(context.Background(), "demo", func(c *Config) error { c.CPUs = 3; return nil })
	if err == nil {
		t.Fatal("an edit of a broken config succeeded")
	}
	for _, want := range []string{"memory", `"lots" is not a size`, "nothing was changed", `vivarium edit "demo"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	after, _ := os.ReadFile(info.Bundle().ConfigPath())
	if !bytes.Equal(after, broken) {
		t.Errorf("config.toml changed:\n%s", after)
	}
}

func TestEditIfUnchangedKeepsTheOtherChange(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	opened := createVM(t, lib, "demo", GiB)
	if opened.Revision == "" {
		t.Fatal("Info has no revision")
	}
	// Another writer changes memory after the editor opened.
	if _, err := lib.Edit(ctx, "demo", func(c *Config) error { c.Memory = 2 * GiB; return nil }); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(opened.Bundle().ConfigPath())
	_, err := lib.EditIfUnchanged(ctx, "demo", opened.Revision, func(c *Config) error { c.CPUs = 3; return nil })
	if !errors.Is(err, ErrConfigChanged) {
		t.Fatalf("saving over a changed config: %v, want ErrConfigChanged", err)
	}
	after, _ := os.ReadFile(opened.Bundle().ConfigPath())
	if !bytes.Equal(before, after) {
		t.Error("a refused save changed config.toml")
	}
	now, _ := lib.Inspect(ctx, "demo")
	if now.Revision == opened.Revision {
		t.Fatal("the revision did not change with the file")
	}
	if _, err := lib.EditIfUnchanged(ctx, "demo", now.Revision, func(c *Config) error { c.CPUs = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	got, _ := lib.Inspect(ctx, "demo")
	if got.Config.CPUs != 3 || got.Config.Memory != 2*GiB {
		t.Errorf("cpus, memory = %d, %s; want both changes, 3 and 2GiB", got.Config.CPUs, got.Config.Memory)
	}
}

func TestSaveRawRefusesAStaleText(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	info := createVM(t, lib, "demo", GiB)
	orig, _ := os.ReadFile(info.Bundle().ConfigPath())
	edited := bytes.Replace(orig, []byte("cpus = 2"), []byte("cpus = 4"), 1)
	if _, err := lib.Edit(ctx, "demo", func(c *Config) error { c.Audio = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.SaveRaw(ctx, "demo", edited, RevisionOf(orig)); !errors.Is(err, ErrConfigChanged) {
		t.Fatalf("SaveRaw over a change: %v, want ErrConfigChanged", err)
	}
	got, _ := lib.Inspect(ctx, "demo")
	if !got.Config.Audio || got.Config.CPUs != 2 {
		t.Errorf("the other change was lost or the stale text written: %+v", got.Config)
	}
	now, _ := os.ReadFile(info.Bundle().ConfigPath())
	edited = bytes.Replace(now, []byte("cpus = 2"), []byte("cpus = 4"), 1)
	if _, err := lib.SaveRaw(ctx, "demo", edited, RevisionOf(now)); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentEditsAllLand: two writers changing different keys at once,
// each read-modify-write under the config lock; no change is lost.
func TestConcurrentEditsAllLand(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	createVM(t, lib, "demo", GiB)
	const rounds = 40
	for i := 1; i <= rounds; i++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w, set := range []func(c *Config){
			func(c *Config) { c.CPUs = i },
			func(c *Config) { c.Display.Width = 1000 + i },
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[w] = lib.Edit(ctx, "demo", func(c *Config) error { set(c); return nil })
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		got, _ := lib.Inspect(ctx, "demo")
		if got.Config.CPUs != i || got.Config.Display.Width != 1000+i {
			t.Fatalf("round %d: cpus = %d, width = %d; a change was lost", i, got.Config.CPUs, got.Config.Display.Width)
		}
	}
}

func TestEditWaitsForTheConfigLock(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	info := createVM(t, lib, "demo", GiB)
	held, err := info.Bundle().LockConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := lib.Edit(ctx, "demo", func(c *Config) error { c.CPUs = 3; return nil })
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the edit did not wait for the held config lock (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	held.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	held, _ = info.Bundle().LockConfig(ctx)
	defer held.Unlock()
	if _, err := lib.Edit(short, "demo", func(c *Config) error { return nil }); err == nil || !strings.Contains(err.Error(), "being changed by another process") {
		t.Errorf("an edit that cannot get the lock: %v", err)
	}
}

func TestRenameUnderTheConfigLock(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	info := createVM(t, lib, "old", GiB)
	held, err := info.Bundle().LockConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	renamed := make(chan error, 1)
	go func() { _, err := lib.Rename(ctx, "old", "new"); renamed <- err }()
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(info.Dir); err != nil {
		t.Fatal("rename went ahead while an edit held the config lock")
	}
	held.Unlock()
	if err := <-renamed; err != nil {
		t.Fatal(err)
	}
	// An edit of the old name that raced the rename finds it gone, and
	// writes nothing there.
	if _, err := lib.Edit(ctx, "old", func(c *Config) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("edit of the renamed VM: %v, want ErrNotFound", err)
	}
	got, err := lib.Inspect(ctx, "new")
	if err != nil || got.Config == nil || got.Config.Name != "new" {
		t.Fatalf("after rename: %+v, %v", got, err)
	}
}

func TestEditRefusesADiskNotInTheFolder(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	info := createVM(t, lib, "demo", GiB)
	add := func(c *Config) error {
		c.Disks = append(c.Disks, Disk{File: "data.img", Size: GiB})
		return nil
	}
	_, err := lib.Edit(ctx, "demo", add)
	var fes FieldErrors
	if !errors.As(err, &fes) || fes.For("disks[1].file") == nil || !strings.Contains(err.Error(), "not in the VM's folder") {
		t.Fatalf("adding a disk with no image: %v", err)
	}
	if err := CreateDisk(info.Bundle().DiskPath("data.img"), GiB); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Edit(ctx, "demo", add); err != nil {
		t.Fatalf("adding a disk whose image is there: %v", err)
	}
	// A disk already listed whose image went missing does not block other
	// changes: the VM lists as broken, saying so.
	os.Remove(info.Bundle().DiskPath("data.img"))
	if _, err := lib.Edit(ctx, "demo", func(c *Config) error { c.CPUs = 3; return nil }); err != nil {
		t.Errorf("editing a VM with a missing disk: %v", err)
	}
}

func TestMergeConfigKeepsBothSidesChanges(t *testing.T) {
	base := fullConfig()
	mine := base.Clone()
	mine.CPUs = 8
	mine.Shares = mine.Shares[:1]
	mine.Display.Width = 1280
	theirs := base.Clone()
	theirs.Memory = 2 * GiB
	theirs.Display.Height = 900
	theirs.Display.Width = 3000 // both changed: mine wins, the person sees it before saving
	got := MergeConfig(base, mine, theirs)
	if got.CPUs != 8 || got.Memory != 2*GiB || got.Display.Width != 1280 || got.Display.Height != 900 || len(got.Shares) != 1 {
		t.Errorf("merged: %+v", got)
	}
	got.Shares[0].ReadOnly = !got.Shares[0].ReadOnly
	if mine.Shares[0].ReadOnly == got.Shares[0].ReadOnly {
		t.Error("the merge shares its shares with mine")
	}
	if theirs.CPUs != base.CPUs || len(theirs.Shares) != 2 {
		t.Error("MergeConfig changed theirs")
	}
}

// TestListingNeverRemovesACreateInProgress: a create makes its temporary
// folder an instant before it locks it; a listing in that instant leaves it
// alone, and removes only leftovers old enough to be a crash's.
func TestListingNeverRemovesACreateInProgress(t *testing.T) {
	lib := newTestLibrary(t)
	fresh := filepath.Join(lib.Root, creatingPrefix+"fresh")
	old := filepath.Join(lib.Root, creatingPrefix+"old")
	for _, d := range []string{fresh, old} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * abandonedAge)
	os.Chtimes(old, long, long)
	if _, err := lib.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a listing removed a create in progress: %v", err)
	}
	if _, err := os.Stat(old); err == nil {
		t.Error("a listing kept a crashed create's leftover")
	}
}
