//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vivarium-vm/vivarium/bench/internal/chart"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/qemu"
	"github.com/vivarium-vm/vivarium/vm/runner"
)

// diskPlan is the disk sizes measured and the data written to each.
type diskPlan struct {
	sizes   []vm.Size
	written int64
	rounds  int
}

// alternate runs the steps in order in even rounds and in reverse in odd
// ones, so that no step always runs after the same other one (the page
// cache and the disk's write-back would favour one side).
func alternate(round int, steps ...func() error) error {
	if round%2 == 1 {
		slices.Reverse(steps)
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func planDisks(quick bool) diskPlan {
	if quick {
		return diskPlan{sizes: []vm.Size{64 * vm.MiB, vm.GiB}, written: 16 << 20, rounds: 1}
	}
	return diskPlan{sizes: []vm.Size{vm.GiB, 16 * vm.GiB, 64 * vm.GiB, 256 * vm.GiB}, written: 1 << 30, rounds: 5}
}

// copyBaseline is what a person does by hand: copy the disk keeping holes,
// and have it on disk when done (Vivarium fsyncs its copies too).
func copyBaseline(ctx context.Context, src, dst string) (time.Duration, error) {
	took, err := timeFunc(func() error {
		if _, err := timeCommand(ctx, nil, "cp", "--sparse=always", src, dst); err != nil {
			return err
		}
		_, err := timeCommand(ctx, nil, "sync", "--data", dst)
		return err
	})
	os.Remove(dst)
	return took, err
}

// diskVM makes a VM with one disk of the given size holding `written`
// bytes of data spread over it, as a used disk would.
func diskVM(ctx context.Context, lib *vm.Library, name string, size vm.Size, written int64) (*vm.Info, error) {
	c := vm.NewConfig(name, vm.OSLinux)
	c.Backend = vm.BackendQEMU
	c.Network.Mode, c.Network.MAC = vm.NetNone, ""
	c.Disks = []vm.Disk{{Size: size}}
	info, err := lib.Create(ctx, c, vm.CreateOptions{})
	if err != nil {
		return nil, err
	}
	path := info.Bundle().DiskPath(c.Disks[0].File)
	if err := writeSpread(path, int64(size), written); err != nil {
		return nil, fmt.Errorf("writing %s of data to %s: %w", vm.Size(written).String(), path, err)
	}
	return info, syncFile(path)
}

// writeSpread writes `written` bytes of random data in equal chunks spread
// evenly over a file of the given size.
func writeSpread(path string, size, written int64) error {
	chunk := min(written, 16<<20)
	chunks := written / chunk
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, chunk)
	rng := rand.NewChaCha8([32]byte{'v', 'i', 'v'})
	for i := range chunks {
		rng.Read(buf)
		off := i * (size / chunks) / 4096 * 4096
		if _, err := f.WriteAt(buf, off); err != nil {
			return err
		}
	}
	return f.Close()
}

// benchDisks times, for each disk size, a disposable run's preparation
// (runner.Prepare, with the QEMU backend's overlays) and a clone
// (Library.Clone), each against cp of the same disk.
func benchDisks(ctx context.Context, cfg *config, r *report) error {
	plan := planDisks(cfg.quick)
	lib, err := vm.OpenLibrary(filepath.Join(cfg.work, "disks"))
	if err != nil {
		return err
	}
	var backend vm.Backend = &qemu.Backend{}
	how, label := "the QEMU backend's qcow2 overlays (qemu-img create)", "vivarium (qcow2 overlay)"
	if _, err := exec.LookPath("qemu-img"); err != nil {
		backend = nil // runner.Prepare falls back to clones or sparse copies
		how = "copy-on-write clones or sparse copies (qemu-img is not installed, so the QEMU backend's overlays cannot be used)"
		label = "vivarium (clone or copy)"
	}
	var prepOurs, prepCp, cloneOurs, cloneCp []chart.Point
	for _, size := range plan.sizes {
		name := "disk " + size.String()
		info, err := diskVM(ctx, lib, name, size, plan.written)
		if err != nil {
			return err
		}
		b := info.Bundle()
		disk := b.DiskPath(info.Config.Disks[0].File)
		var ours, clones, copies []time.Duration
		prepare := func() error {
			d, err := timeFunc(func() error {
				_, err := runner.Prepare(ctx, b, info.Config, backend, runner.Options{Disposable: true})
				return err
			})
			if err != nil {
				return fmt.Errorf("preparing a disposable run of a %s disk: %w", size, err)
			}
			ours = append(ours, d)
			return os.RemoveAll(b.DisposableDir())
		}
		clone := func() error {
			d, err := timeFunc(func() error {
				_, err := lib.Clone(ctx, name, name+" clone", nil)
				return err
			})
			if err != nil {
				return fmt.Errorf("cloning a VM with a %s disk: %w", size, err)
			}
			clones = append(clones, d)
			return lib.Delete(ctx, name+" clone")
		}
		copyByHand := func() error {
			d, err := copyBaseline(ctx, disk, filepath.Join(cfg.work, "copy.img"))
			copies = append(copies, d)
			return err
		}
		// The preparations run first, on their own: a clone's or copy's
		// gigabyte still being written back would slow the overlay's
		// small fsyncs, and measure the disk rather than the preparation.
		for range plan.rounds {
			if err := prepare(); err != nil {
				return err
			}
		}
		for round := range plan.rounds {
			if err := alternate(round, clone, copyByHand); err != nil {
				return err
			}
			logRound("disposable preparation, "+size.String(), round, ours[round], copies[round])
			logRound("clone, "+size.String(), round, clones[round], copies[round])
		}
		if err := lib.Delete(ctx, name); err != nil {
			return err
		}
		o, c, cl := best(ours), best(copies), best(clones)
		x := float64(size) / float64(vm.GiB)
		prepOurs, prepCp = append(prepOurs, chart.Point{X: x, Y: ms(o)}), append(prepCp, chart.Point{X: x, Y: ms(c)})
		cloneOurs, cloneCp = append(cloneOurs, chart.Point{X: x, Y: ms(cl)}), append(cloneCp, chart.Point{X: x, Y: ms(c)})
		r.add(row{
			what: fmt.Sprintf("disposable run preparation, %s disk (%s written)", size.String(), vm.Size(plan.written).String()),
			ours: formatDuration(o), baseline: formatDuration(c) + " (cp)", ratio: ratio(o, c),
			goal: "< 0.1: no copy", met: metIf(ratio(o, c) < 0.1),
		})
		r.add(row{
			what: fmt.Sprintf("clone, %s disk (%s written), %s", size.String(), vm.Size(plan.written).String(), fsType(cfg.work)),
			ours: formatDuration(cl), baseline: formatDuration(c) + " (cp)", ratio: ratio(cl, c),
			goal: "≤ 1.25: as fast as cp", met: metIf(ratio(cl, c) <= 1.25),
		})
	}
	first, last := prepOurs[0], prepOurs[len(prepOurs)-1]
	growth := last.Y / first.Y
	r.add(row{
		what: fmt.Sprintf("disposable preparation growth, %s → %s disk", plan.sizes[0].String(), plan.sizes[len(plan.sizes)-1].String()),
		ours: fmt.Sprintf("× %.2f", growth), baseline: fmt.Sprintf("× %.2f (cp)", prepCp[len(prepCp)-1].Y/prepCp[0].Y),
		goal: "≤ 1.5: flat", met: metIf(growth <= 1.5),
	})
	r.note("Disposable run preparation: `runner.Prepare` of a disposable run, which makes %s in run/disposable; the baseline copies the same disk with `cp --sparse=always` and then `sync --data` on the copy (Vivarium fsyncs what it copies, so both leave the data on disk). Disks are sparse raw images with the data written in 16 MiB chunks spread evenly over them.", how)
	r.note("Clone: `Library.Clone` (what `vivarium clone` runs): a copy-on-write clone where the filesystem can, else a sparse copy of the data regions, fsynced; new MAC address. Same `cp` baseline.")
	r.plot(chart.Panel{
		Title: "Disposable run preparation vs disk size", XLabel: fmt.Sprintf("disk size (%s of data written)", vm.Size(plan.written).String()),
		YLabel: "time", LogX: true, LogY: true, XFormat: gibFormat, YFormat: formatMs, XTicks: gibTicks(plan.sizes),
		Series: []chart.Series{{Label: label, Points: prepOurs}, {Label: "cp --sparse=always + sync", Points: prepCp, Dashed: true}},
	})
	r.plot(chart.Panel{
		Title: clonePanelTitle, XLabel: fmt.Sprintf("disk size (%s of data written)", vm.Size(plan.written).String()),
		YLabel: "time", LogX: true, LogY: true, XFormat: gibFormat, YFormat: formatMs, XTicks: gibTicks(plan.sizes),
		Series: []chart.Series{{Label: "vivarium clone, " + fsType(cfg.work), Points: cloneOurs}, {Label: "cp, " + fsType(cfg.work), Points: cloneCp, Dashed: true}},
	})
	return nil
}

const clonePanelTitle = "VM clone vs disk size"

// gibFormat writes disk sizes, given in GiB, on the plots' x axes.
func gibFormat(v float64) string {
	size := vm.Size(math.Round(v * float64(vm.GiB)))
	if s := size.String(); strings.ContainsAny(s, "KMGT") {
		return s
	}
	return size.Human()
}

func gibTicks(sizes []vm.Size) []float64 {
	ticks := make([]float64, len(sizes))
	for i, s := range sizes {
		ticks[i] = float64(s) / float64(vm.GiB)
	}
	return ticks
}

// benchXFSClone repeats the clone benchmark on an XFS filesystem with
// reflinks, in a loop-mounted image, where a clone should be instant.
func benchXFSClone(ctx context.Context, cfg *config, r *report) error {
	mnt, unmount, err := mountXFS(ctx, cfg, "xfs")
	if err != nil {
		return err
	}
	defer unmount()
	plan := planDisks(cfg.quick)
	lib, err := vm.OpenLibrary(filepath.Join(mnt, "library"))
	if err != nil {
		return err
	}
	var ours, copies []chart.Point
	for _, size := range plan.sizes {
		name := "disk " + size.String()
		info, err := diskVM(ctx, lib, name, size, plan.written)
		if err != nil {
			return err
		}
		disk := info.Bundle().DiskPath(info.Config.Disks[0].File)
		var clones, cps []time.Duration
		clone := func() error {
			d, err := timeFunc(func() error {
				_, err := lib.Clone(ctx, name, name+" clone", nil)
				return err
			})
			if err != nil {
				return fmt.Errorf("cloning on XFS: %w", err)
			}
			clones = append(clones, d)
			return lib.Delete(ctx, name+" clone")
		}
		copyByHand := func() error {
			d, err := copyBaseline(ctx, disk, filepath.Join(mnt, "copy.img"))
			cps = append(cps, d)
			return err
		}
		for round := range plan.rounds {
			if err := alternate(round, clone, copyByHand); err != nil {
				return err
			}
			logRound("XFS clone, "+size.String(), round, clones[round], cps[round])
		}
		if err := lib.Delete(ctx, name); err != nil {
			return err
		}
		o, c := best(clones), best(cps)
		x := float64(size) / float64(vm.GiB)
		ours, copies = append(ours, chart.Point{X: x, Y: ms(o)}), append(copies, chart.Point{X: x, Y: ms(c)})
		r.add(row{
			what: fmt.Sprintf("clone, %s disk (%s written), XFS with reflinks", size.String(), vm.Size(plan.written).String()),
			ours: formatDuration(o), baseline: formatDuration(c) + " (cp)", ratio: ratio(o, c),
			goal: "< 100 ms: instant", met: metIf(o < 100*time.Millisecond),
		})
	}
	r.note("XFS clone: the same clone and `cp` on an XFS filesystem made with `mkfs.xfs -m reflink=1` in a loop-mounted image file; both reflink (cp ≥ 9.0 defaults to `--reflink=auto`), so both should be instant whatever the size.")
	xfs := []chart.Series{
		{Label: "vivarium clone, XFS reflink", Points: ours},
		{Label: "cp, XFS reflink", Points: copies, Dashed: true},
	}
	for i := range r.panels {
		if r.panels[i].Title == clonePanelTitle {
			r.panels[i].Series = append(r.panels[i].Series, xfs...)
			return nil
		}
	}
	r.plot(chart.Panel{Title: clonePanelTitle, XLabel: fmt.Sprintf("disk size (%s of data written)", vm.Size(plan.written).String()),
		YLabel: "time", LogX: true, LogY: true, XFormat: gibFormat, YFormat: formatMs, XTicks: gibTicks(plan.sizes), Series: xfs})
	return nil
}

// mountXFS makes an XFS filesystem with reflinks in an image file in the
// scratch folder and loop-mounts it at a folder of that name; unmount
// undoes both. Where that cannot be done here, the error is a skip.
func mountXFS(ctx context.Context, cfg *config, name string) (mnt string, unmount func(), err error) {
	if os.Geteuid() != 0 {
		return "", nil, skipf("mounting an XFS image needs root; run `make bench` as root to measure on a reflink filesystem")
	}
	if _, err := exec.LookPath("mkfs.xfs"); err != nil {
		return "", nil, skipf("mkfs.xfs not found (%v); install xfsprogs", err)
	}
	image := filepath.Join(cfg.work, name+".img")
	mnt = filepath.Join(cfg.work, name)
	f, err := os.Create(image)
	if err != nil {
		return "", nil, err
	}
	imageSize := int64(4 << 30)
	if cfg.quick {
		imageSize = 512 << 20
	}
	err = f.Truncate(imageSize)
	f.Close()
	if err != nil {
		os.Remove(image)
		return "", nil, err
	}
	if _, err := timeCommand(ctx, nil, "mkfs.xfs", "-q", "-m", "reflink=1", image); err != nil {
		os.Remove(image)
		return "", nil, skipf("cannot make an XFS filesystem: %v", err)
	}
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		os.Remove(image)
		return "", nil, err
	}
	if _, err := timeCommand(ctx, nil, "mount", "-o", "loop", image, mnt); err != nil {
		os.Remove(image)
		return "", nil, skipf("cannot loop-mount an XFS image (%v): a container without loop devices or CAP_SYS_ADMIN", err)
	}
	return mnt, func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
		os.Remove(image)
	}, nil
}
