package vm_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

// TestRenameAndCloneKeepBootFilesInsideTheVM: an imported VM keeps its
// kernel and initrd in its own folder; a rename or a clone points at the
// files in the new folder, and a kernel outside the VM stays where it is.
func TestRenameAndCloneKeepBootFilesInsideTheVM(t *testing.T) {
	ctx := context.Background()
	lib, err := vm.OpenLibrary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := lib.Bundle("imported")
	c := vm.NewConfig("imported", vm.OSLinux)
	c.Boot = vm.Boot{Mode: vm.BootLinux, Kernel: filepath.Join(b.Dir, vm.KernelFile), Initrd: filepath.Join(b.Dir, vm.InitrdFile)}
	c.Disks = []vm.Disk{{Size: vm.MiB}}
	if _, err := lib.Create(ctx, c, vm.CreateOptions{Prepare: func(_ context.Context, tmp vm.Bundle, _ *vm.Config) error {
		os.WriteFile(filepath.Join(tmp.Dir, vm.KernelFile), []byte("kernel"), 0o644)
		return os.WriteFile(filepath.Join(tmp.Dir, vm.InitrdFile), []byte("initrd"), 0o644)
	}}); err != nil {
		t.Fatal(err)
	}
	info, err := lib.Rename(ctx, "imported", "renamed")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Config.Boot.Kernel; got != filepath.Join(info.Dir, vm.KernelFile) {
		t.Errorf("after rename the kernel is %s", got)
	}
	clone, err := lib.Clone(ctx, "renamed", "cloned", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{clone.Config.Boot.Kernel, clone.Config.Boot.Initrd} {
		if filepath.Dir(p) != clone.Dir {
			t.Errorf("the clone boots %s, outside its folder", p)
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the clone's boot file: %v", err)
		}
	}
	// A kernel outside the VM (created with --kernel) is left alone.
	out := vm.NewConfig("outside", vm.OSLinux)
	out.Boot = vm.Boot{Mode: vm.BootLinux, Kernel: "/boot/vmlinuz"}
	if _, err := lib.Create(ctx, out, vm.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if info, err := lib.Rename(ctx, "outside", "outside2"); err != nil || info.Config.Boot.Kernel != "/boot/vmlinuz" {
		t.Errorf("rename moved an outside kernel: %v %+v", err, info.Config.Boot)
	}
}
