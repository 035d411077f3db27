//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

// benchImport times the import of a big sparse raw disk image (what
// `vivarium import disk.img` runs) against `qemu-img convert` of the same
// file by hand, and checks the import keeps the holes.
func benchImport(ctx context.Context, cfg *config, r *report) error {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		return skipf("qemu-img not found (%v); install qemu-utils", err)
	}
	size, written, rounds := 64*vm.GiB, int64(1<<30), 5
	if cfg.quick {
		size, written, rounds = vm.GiB, 16<<20, 1
	}
	dir := filepath.Join(cfg.work, "import")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "source.img")
	if err := vm.CreateDisk(src, size); err != nil {
		return err
	}
	if err := writeSpread(src, int64(size), written); err != nil {
		return err
	}
	if err := syncFile(src); err != nil {
		return err
	}
	lib, err := vm.OpenLibrary(filepath.Join(dir, "library"))
	if err != nil {
		return err
	}
	im := &importer.Importer{Library: lib, Converter: qemu.ImageTool{}}
	var ours, theirs []time.Duration
	var allocated int64
	var method importer.CopyMethod
	imp := func() error {
		var res *importer.Result
		d, err := timeFunc(func() error {
			var err error
			res, err = im.Import(ctx, src, importer.Options{Name: "imported"})
			return err
		})
		if err != nil {
			return fmt.Errorf("importing a %s image: %w", size, err)
		}
		ours = append(ours, d)
		method = res.Methods[0]
		if allocated, err = vm.Allocated(res.Info.Bundle().DiskPath(res.Info.Config.Disks[0].File)); err != nil {
			return err
		}
		return lib.Delete(ctx, "imported")
	}
	byHand := func() error {
		dst := filepath.Join(dir, "converted.img")
		d, err := timeFunc(func() error {
			if _, err := timeCommand(ctx, nil, "qemu-img", "convert", "-f", "raw", "-O", "raw", src, dst); err != nil {
				return err
			}
			_, err := timeCommand(ctx, nil, "sync", "--data", dst)
			return err
		})
		os.Remove(dst)
		theirs = append(theirs, d)
		return err
	}
	for round := range rounds {
		if err := alternate(round, imp, byHand); err != nil {
			return err
		}
		logRound("import, "+size.String(), round, ours[round], theirs[round])
	}
	o, t := best(ours), best(theirs)
	r.add(row{
		what: fmt.Sprintf("import of a %s raw image (%s written), %s", size.String(), vm.Size(written).String(), fsType(cfg.work)),
		ours: formatDuration(o), baseline: formatDuration(t) + " (qemu-img convert)", ratio: ratio(o, t),
		goal: "≤ 1.1", met: metIf(ratio(o, t) <= 1.1),
	})
	r.add(row{
		what: fmt.Sprintf("space the imported %s disk takes (%s written)", size.String(), vm.Size(written).String()),
		ours: vm.Size(allocated).Human(), baseline: vm.Size(written).Human() + " (written)", ratio: float64(allocated) / float64(written),
		goal: "≈ 1: holes kept", met: metIf(float64(allocated) <= 1.05*float64(written)),
	})
	r.note("Import: `importer.Import` of a sparse raw image (what `vivarium import disk.img` runs: probe the header, make the VM in a temporary folder, bring the disk over %s, fsync, rename into place); the baseline is `qemu-img convert -f raw -O raw` of the same file followed by `sync --data` on the copy (the import fsyncs what it writes).", method)
	return nil
}
