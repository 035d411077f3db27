package oci_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/oci"
	"github.com/vivarium-vm/vivarium/vm/oci/ocitest"
)

// mountXFS loop-mounts a fresh XFS filesystem with reflinks, or skips.
func mountXFS(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting an XFS image needs root")
	}
	if _, err := exec.LookPath("mkfs.xfs"); err != nil {
		t.Skip("mkfs.xfs is not installed (xfsprogs; scripts/deps.sh test)")
	}
	dir := t.TempDir()
	image, mnt := filepath.Join(dir, "xfs.img"), filepath.Join(dir, "mnt")
	if err := os.WriteFile(image, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(image, 400<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.xfs", "-q", "-m", "reflink=1", image).CombinedOutput(); err != nil {
		t.Skipf("cannot make an XFS filesystem: %v %s", err, out)
	}
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mount", "-o", "loop", image, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot loop-mount an XFS image (no loop devices or CAP_SYS_ADMIN here): %v %s", err, out)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
	})
	return mnt
}

func usedBytes(t *testing.T, dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// TestPullClonesChunksOnXFS: on a filesystem with reflinks the pulled disk
// shares its blocks with the content store, so the data takes its space once.
func TestPullClonesChunksOnXFS(t *testing.T) {
	mnt := mountXFS(t)
	reg := ocitest.Require(t)
	ctx := context.Background()
	src, _ := vm.OpenLibrary(t.TempDir())
	info := sourceVM(t, src)
	fill(t, info.Bundle().DiskPath("disk-0.img"), 5, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
	opts := oci.Options{Insecure: true, Credentials: creds(t, reg.Host, ocitest.Password), ChunkSize: 4 << 20}
	ref := reg.Host + "/team/xfs:v1"
	if _, err := oci.Push(ctx, src, "src", ref, opts); err != nil {
		t.Fatal(err)
	}
	lib, _ := vm.OpenLibrary(filepath.Join(mnt, "library"))
	before := usedBytes(t, mnt)
	res, err := oci.Pull(ctx, lib, ref, "cloned", opts)
	if err != nil {
		t.Fatal(err)
	}
	grew := usedBytes(t, mnt) - before
	if res.CloneMode != "clone" {
		t.Errorf("the disk was built by %s, not by cloning the store's chunks", res.CloneMode)
	}
	if sum(t, info.Bundle().DiskPath("disk-0.img")) != sum(t, res.Info.Bundle().DiskPath("disk-0.img")) {
		t.Error("the cloned disk differs")
	}
	// About 20 MiB of data in both disks: once in the store, and shared.
	if grew > 30<<20 {
		t.Errorf("the pull took %d MiB on XFS for about 20 MiB of data: the disk does not share the store's blocks", grew>>20)
	}
	t.Logf("pull on XFS took %d MiB for %d data chunks (%s)", grew>>20, res.Downloaded, res.CloneMode)
}
