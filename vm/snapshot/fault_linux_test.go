package snapshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vivarium-vm/vivarium/vm"
)

// fullFSVM makes a VM whose 64 MiB disk holds 8 MiB of data on a 20 MiB
// tmpfs, leaving about 12 MiB free. It skips where tmpfs cannot be mounted.
func fullFSVM(t *testing.T) vm.Bundle {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	os.Mkdir(dir, 0o755)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=20m,mode=0755"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill up (%v): the disk-full tests need root with CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	lib, err := vm.OpenLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := vm.NewConfig("box", vm.OSLinux)
	c.Disks = []vm.Disk{{Size: 64 * vm.MiB}}
	info, err := lib.Create(context.Background(), c, vm.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := info.Bundle()
	f, _ := os.OpenFile(b.DiskPath(vm.DiskFileName(0)), os.O_WRONLY, 0)
	f.WriteAt(bytes.Repeat([]byte{0x5a}, 8<<20), 16<<20)
	f.Close()
	return b
}

// fillUp takes all but `leave` bytes of the filesystem holding dir.
func fillUp(t *testing.T, dir string, leave int64) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	if free <= leave {
		return
	}
	f, _ := os.Create(filepath.Join(dir, "..", "filler"))
	defer f.Close()
	f.Write(make([]byte, free-leave))
}

func sums(t *testing.T, b vm.Bundle) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	for _, name := range []string{vm.ConfigFile, vm.DiskFileName(0)} {
		data, err := os.ReadFile(filepath.Join(b.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = sha256.Sum256(data)
	}
	return out
}

func TestDiskFullDuringASnapshotOrRestoreLeavesTheVMAsItWas(t *testing.T) {
	ctx := context.Background()
	b := fullFSVM(t)
	if _, err := Take(ctx, b, "fits", Options{}); err != nil {
		t.Fatal(err)
	}
	// 8 MiB of data copied once more does not fit in 2 MiB.
	fillUp(t, b.Dir, 2<<20)
	before := sums(t, b)
	_, err := Take(ctx, b, "too big", Options{})
	if !errors.Is(err, vm.ErrNoSpace) {
		t.Fatalf("snapshot onto a full disk: %v, want ErrNoSpace", err)
	}
	if infos, _ := List(b); len(infos) != 1 || infos[0].Name != "fits" || infos[0].Broken() {
		t.Errorf("after the failed snapshot the list is %+v", infos)
	}
	if entries, _ := os.ReadDir(b.SnapshotsDir()); len(entries) != 1 {
		t.Errorf("the failed snapshot left files in snapshots/: %d entries", len(entries))
	}
	_, err = Restore(ctx, b, "fits")
	if !errors.Is(err, vm.ErrNoSpace) {
		t.Fatalf("restore onto a full disk: %v, want ErrNoSpace", err)
	}
	if _, err := os.Stat(b.RestoringDir()); !os.IsNotExist(err) {
		t.Error("the failed restore left its staging folder")
	}
	after := sums(t, b)
	for name, sum := range before {
		if after[name] != sum {
			t.Errorf("the failed snapshot or restore changed %s", name)
		}
	}
	if b.Locked() {
		t.Error("the VM is left locked")
	}
}
