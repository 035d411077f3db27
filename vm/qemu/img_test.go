package qemu_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vivarium-vm/vivarium/vm/importer"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

// TestImageToolConvertsWithProgress converts a qcow2 to raw with qemu-img:
// the bytes are the disk's, and progress climbs to the disk's size.
func TestImageToolConvertsWithProgress(t *testing.T) {
	importertest.RequireQEMUImg(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "disk.qcow2")
	sum := importertest.Image(t, src, "qcow2", 32<<20, "progress")
	var last, total int64
	var calls int
	tool := qemu.ImageTool{}
	if n, err := tool.Size(context.Background(), src, importer.FormatQCOW2); err != nil || n != 32<<20 {
		t.Fatalf("Size = %d, %v", n, err)
	}
	dst := filepath.Join(dir, "disk.raw")
	err := tool.Convert(context.Background(), src, importer.FormatQCOW2, dst, func(done, tot int64) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		last, total, calls = done, tot, calls+1
	})
	if err != nil {
		t.Fatal(err)
	}
	if importertest.FileSum(t, dst) != sum {
		t.Error("the converted disk differs")
	}
	if calls == 0 || last != total || total != 32<<20 {
		t.Errorf("progress: %d calls, last %d of %d", calls, last, total)
	}
	if err := tool.Convert(context.Background(), src, importer.FormatQCOW2, dst, nil); err == nil {
		t.Error("converting over an existing file succeeded")
	}
}
