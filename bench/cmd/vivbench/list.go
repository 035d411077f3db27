//go:build linux

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vivarium-vm/vivarium/bench/internal/chart"
	"github.com/vivarium-vm/vivarium/vm"
)

// fillLibrary grows lib to n VMs, each with a 64 GiB sparse disk.
func fillLibrary(ctx context.Context, lib *vm.Library, n int) error {
	list, err := lib.List(ctx)
	if err != nil {
		return err
	}
	for i := len(list); i < n; i++ {
		c := vm.NewConfig(fmt.Sprintf("vm %04d", i), vm.OSLinux)
		c.Disks = []vm.Disk{{Size: vm.DefaultDisk}}
		if _, err := lib.Create(ctx, c, vm.CreateOptions{}); err != nil {
			return fmt.Errorf("making VM %d of %d: %w", i+1, n, err)
		}
	}
	return nil
}

// benchList times `vivarium list` and Library.List with 10, 100 and 1000
// VMs, against cat of the same config files.
func benchList(ctx context.Context, cfg *config, r *report) error {
	counts, rounds := []int{10, 100, 1000}, 7
	if cfg.quick {
		counts, rounds = []int{10, 50}, 1
	}
	lib, err := vm.OpenLibrary(filepath.Join(cfg.work, "list"))
	if err != nil {
		return err
	}
	var cliPts, libPts, catPts []chart.Point
	var perVM []time.Duration
	for _, n := range counts {
		if err := fillLibrary(ctx, lib, n); err != nil {
			return err
		}
		configs := make([]string, n)
		for i := range n {
			configs[i] = filepath.Join(lib.Root, fmt.Sprintf("vm %04d", i)+vm.BundleExt, vm.ConfigFile)
		}
		var cli, inproc, cat []time.Duration
		listCLI := func() error {
			d, err := timeCommand(ctx, nil, cfg.vivarium, "list", "--library", lib.Root)
			cli = append(cli, d)
			return err
		}
		// In process a listing takes milliseconds, so each round keeps the
		// best of five calls: one context switch on a shared machine would
		// otherwise be the result.
		listInProcess := func() error {
			var fastest time.Duration
			for i := range 5 {
				d, err := timeFunc(func() error {
					infos, err := lib.List(ctx)
					if err == nil && len(infos) != n {
						err = fmt.Errorf("Library.List found %d VMs, want %d", len(infos), n)
					}
					return err
				})
				if err != nil {
					return err
				}
				if i == 0 || d < fastest {
					fastest = d
				}
			}
			inproc = append(inproc, fastest)
			return nil
		}
		catConfigs := func() error {
			d, err := timeCommand(ctx, nil, "cat", configs...)
			cat = append(cat, d)
			return err
		}
		for round := range rounds {
			if err := alternate(round, listCLI, listInProcess, catConfigs); err != nil {
				return err
			}
			logRound(fmt.Sprintf("vivarium list, %d VMs", n), round, cli[round], cat[round])
		}
		c, l, base := best(cli), best(inproc), best(cat)
		perVM = append(perVM, l/time.Duration(n))
		cliPts = append(cliPts, chart.Point{X: float64(n), Y: ms(c)})
		libPts = append(libPts, chart.Point{X: float64(n), Y: ms(l)})
		catPts = append(catPts, chart.Point{X: float64(n), Y: ms(base)})
		goal, met := "", ""
		if n == 1000 {
			goal, met = "< 100 ms", metIf(c < 100*time.Millisecond)
		}
		r.add(row{what: fmt.Sprintf("`vivarium list`, %d VMs", n), ours: formatDuration(c), baseline: formatDuration(base) + " (cat)", ratio: ratio(c, base), goal: goal, met: met})
		r.add(row{what: fmt.Sprintf("Library.List (in process), %d VMs", n), ours: formatDuration(l), baseline: formatDuration(base) + " (cat)", ratio: ratio(l, base)})
	}
	// Linear: Library.List's cost per VM (no process start-up in it) at the
	// largest library is no more than at the middle one.
	mid, last := perVM[len(perVM)-2], perVM[len(perVM)-1]
	growth := float64(last) / float64(mid)
	r.add(row{
		what: fmt.Sprintf("Library.List time per VM, %d vs %d VMs", counts[len(counts)-1], counts[len(counts)-2]),
		ours: fmt.Sprintf("%s vs %s", formatDuration(last), formatDuration(mid)), ratio: growth,
		goal: "≤ 1.2: linear", met: metIf(growth <= 1.2),
	})
	r.note("List: `vivarium list --library DIR` as a process (start-up included), and `Library.List` in process (warm: the best of five calls in each round, as the GUI refreshes), which reads every config.toml (parsing and validating the ones whose text it has not seen: a warm call parses none), stats the disks and checks each VM's lock; the baseline is one `cat` of the same config.toml files (the least any listing must read). Every VM has a 64GiB sparse disk.")
	r.plot(chart.Panel{
		Title: "Listing the library vs number of VMs", XLabel: "VMs in the library", YLabel: "time",
		LogX: true, LogY: true, YFormat: formatMs, XFormat: func(v float64) string { return fmt.Sprintf("%g", v) }, XTicks: ticks(counts),
		Series: []chart.Series{
			{Label: "vivarium list", Points: cliPts},
			{Label: "Library.List", Points: libPts},
			{Label: "cat config.toml ×N", Points: catPts, Dashed: true},
		},
	})
	return nil
}

func ticks(counts []int) []float64 {
	out := make([]float64, len(counts))
	for i, n := range counts {
		out[i] = float64(n)
	}
	return out
}
