package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// smallFS mounts a tmpfs of the given size at a new directory and unmounts it
// when the test ends. It skips, saying why, only where mounting is
// impossible (not root, or no CAP_SYS_ADMIN in a container).
func smallFS(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Skipf("cannot mount a %s tmpfs to fill up (%v): the disk-full tests need root with CAP_SYS_ADMIN", size, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file until the filesystem holding dir is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := bytes.Repeat([]byte{0xa5}, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			break
		}
	}
	// Smaller writes take the last partial pages too.
	for _, err := f.Write(buf[:512]); err == nil; _, err = f.Write(buf[:512]) {
	}
	return path
}

// leftovers lists what a failed operation left in the library root besides
// the VMs that were there before.
func leftovers(t *testing.T, root string, before ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{"filler": true}
	for _, b := range before {
		keep[b] = true
	}
	var left []string
	for _, e := range entries {
		if !keep[e.Name()] {
			left = append(left, e.Name())
		}
	}
	return left
}

func hashTree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	sums := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, RunDir+string(filepath.Separator)) {
			return nil // lock and runtime files are not the VM
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		sums[rel] = [32]byte(h.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

func TestDiskFullWhileCreatingLeavesNoHalfVM(t *testing.T) {
	root := smallFS(t, "4m")
	lib, err := OpenLibrary(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	filler := fill(t, root)

	c := NewConfig("full", OSLinux)
	c.Disks = []Disk{{Size: 64 * GiB}}
	_, err = lib.Create(ctx, c, CreateOptions{})
	if err == nil {
		t.Fatal("create on a full disk succeeded")
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Errorf("create on a full disk: %v, want an error wrapping ErrNoSpace (%q)", err, ErrNoSpace)
	}
	if !strings.Contains(err.Error(), "free up space") {
		t.Errorf("the error does not say what to do: %v", err)
	}
	if left := leftovers(t, root); len(left) > 0 {
		t.Errorf("a create that ran out of space left %v in the library", left)
	}
	if list, err := lib.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("library lists %v (%v) after a failed create", list, err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Create(ctx, c, CreateOptions{}); err != nil {
		t.Errorf("create after freeing space: %v", err)
	}
}

func TestDiskFullWhileImportingLeavesNoHalfVM(t *testing.T) {
	root := smallFS(t, "8m")
	lib, err := OpenLibrary(root)
	if err != nil {
		t.Fatal(err)
	}
	// A 16MiB disk of data to bring in: twice what the library has room for.
	src := filepath.Join(t.TempDir(), "import.img")
	if err := os.WriteFile(src, randomBytes(16<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	c := NewConfig("imported", OSLinux)
	c.Disks = []Disk{{Size: 16 * MiB}}
	_, err = lib.Create(context.Background(), c, CreateOptions{Prepare: func(ctx context.Context, tmp Bundle, c *Config) error {
		dst := tmp.DiskPath(c.Disks[0].File)
		os.Remove(dst)
		_, err := CopyDisk(ctx, src, dst, nil)
		return err
	}})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("import onto a full disk: %v, want an error wrapping ErrNoSpace", err)
	}
	if left := leftovers(t, root); len(left) > 0 {
		t.Errorf("an import that ran out of space left %v in the library", left)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		t.Fatal(err)
	}
	if free := st.Bfree * uint64(st.Bsize); free < 7<<20 {
		t.Errorf("only %d bytes free after the failed import: its partial copy still takes space", free)
	}
}

func TestDiskFullWhileCloningKeepsSourceAndLeavesNoHalfVM(t *testing.T) {
	root := smallFS(t, "24m")
	lib, err := OpenLibrary(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := createVM(t, lib, "source", 64*MiB)
	// 16MiB of data spread over the disk: the clone needs 16MiB more than
	// the 8MiB left.
	f, err := os.OpenFile(src.Bundle().DiskPath("disk-0.img"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 4; i++ {
		if _, err := f.WriteAt(randomBytes(4<<20), i*16<<20); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	before := hashTree(t, src.Dir)

	_, err = lib.Clone(ctx, "source", "copy", nil)
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("clone onto a full disk: %v, want an error wrapping ErrNoSpace", err)
	}
	if !strings.Contains(err.Error(), "free up space") {
		t.Errorf("the error does not say what to do: %v", err)
	}
	if left := leftovers(t, root, "source.vm"); len(left) > 0 {
		t.Errorf("a clone that ran out of space left %v in the library", left)
	}
	after := hashTree(t, src.Dir)
	if len(after) != len(before) {
		t.Errorf("source files changed: %d before, %d after", len(before), len(after))
	}
	for name, sum := range before {
		if after[name] != sum {
			t.Errorf("the failed clone changed the source's %s", name)
		}
	}
	info, err := lib.Inspect(ctx, "source")
	if err != nil || info.State != StateStopped || info.Err != nil {
		t.Errorf("source after the failed clone: %+v, %v", info, err)
	}
	if src.Bundle().Locked() {
		t.Error("the failed clone left the source locked")
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	return b
}
