//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/digitalocean/go-qemu/qmp"

	"github.com/vivarium-vm/vivarium/bench/internal/chart"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/snapshot"
)

// snapshotSizes are the two disk sizes whose snapshot times are compared:
// flat means the big one takes no longer than the small one.
func snapshotSizes(quick bool) (sizes []vm.Size, written int64, rounds int) {
	if quick {
		return []vm.Size{64 * vm.MiB, vm.GiB}, 16 << 20, 1
	}
	return []vm.Size{vm.GiB, 64 * vm.GiB}, 1 << 30, 5
}

// benchSnapshots times snapshot.Take and snapshot.Restore of a stopped VM
// with a small and a big disk holding the same data, on the scratch
// folder's filesystem and on XFS with reflinks, against cp of the disk.
func benchSnapshots(ctx context.Context, cfg *config, r *report) error {
	var panel []chart.Series
	ext, err := snapshotTimes(ctx, cfg, r, filepath.Join(cfg.work, "snapshots"), fsType(cfg.work))
	if err != nil {
		return err
	}
	panel = append(panel, ext...)
	mnt, unmount, err := mountXFS(ctx, cfg, "xfs-snapshots")
	var skip *skipError
	switch {
	case asSkip(err, &skip):
		r.skip("snapshots on XFS", skip.reason)
	case err != nil:
		return err
	default:
		defer unmount()
		xfs, err := snapshotTimes(ctx, cfg, r, filepath.Join(mnt, "library"), "XFS with reflinks")
		if err != nil {
			return err
		}
		panel = append(panel, xfs...)
	}
	sizes, written, _ := snapshotSizes(cfg.quick)
	r.note("Snapshots vs disk size: `snapshot.Take` (what `vivarium snapshot` runs on a stopped VM: every disk copy-on-write where the filesystem can, else the data regions only, fsynced; the config, the manifest written last) and `snapshot.Restore` (the snapshot's files staged beside the VM's and committed), for VMs whose one disk is %s or %s with %s of data spread over it; the baseline is `cp --sparse=always` + `sync` of the disk. Flat: the big disk's time over the small one's.", sizes[0], sizes[1], vm.Size(written))
	r.plot(chart.Panel{
		Title: "Snapshot and restore vs disk size", XLabel: fmt.Sprintf("disk size (%s of data written)", vm.Size(written).String()),
		YLabel: "time", LogX: true, LogY: true, XFormat: gibFormat, YFormat: formatMs, XTicks: gibTicks(sizes), Series: panel,
	})
	return nil
}

// snapshotTimes measures take and restore in a library at root, on the
// filesystem called fs.
func snapshotTimes(ctx context.Context, cfg *config, r *report, root, fs string) ([]chart.Series, error) {
	sizes, written, rounds := snapshotSizes(cfg.quick)
	lib, err := vm.OpenLibrary(root)
	if err != nil {
		return nil, err
	}
	var takes, restores, copies []time.Duration
	var takePts, restorePts, cpPts []chart.Point
	for _, size := range sizes {
		name := "snap " + size.String()
		info, err := diskVM(ctx, lib, name, size, written)
		if err != nil {
			return nil, err
		}
		b := info.Bundle()
		var take, restore, cp []time.Duration
		for round := range rounds {
			snap := fmt.Sprintf("s%d", round)
			d, err := timeFunc(func() error { _, err := snapshot.Take(ctx, b, snap, snapshot.Options{}); return err })
			if err != nil {
				return nil, fmt.Errorf("snapshot of a %s disk on %s: %w", size, fs, err)
			}
			take = append(take, d)
			if d, err = timeFunc(func() error { _, err := snapshot.Restore(ctx, b, snap); return err }); err != nil {
				return nil, fmt.Errorf("restore of a %s disk on %s: %w", size, fs, err)
			}
			restore = append(restore, d)
			if err := snapshot.Delete(b, snap); err != nil {
				return nil, err
			}
			c, err := copyBaseline(ctx, b.DiskPath(info.Config.Disks[0].File), filepath.Join(root, "copy.img"))
			if err != nil {
				return nil, err
			}
			cp = append(cp, c)
			logRound(fmt.Sprintf("snapshot, %s, %s", size, fs), round, take[round], c)
			logRound(fmt.Sprintf("restore, %s, %s", size, fs), round, restore[round], c)
		}
		if err := lib.Delete(ctx, name); err != nil {
			return nil, err
		}
		t, rs, c := best(take), best(restore), best(cp)
		takes, restores, copies = append(takes, t), append(restores, rs), append(copies, c)
		x := float64(size) / float64(vm.GiB)
		takePts, restorePts, cpPts = append(takePts, chart.Point{X: x, Y: ms(t)}), append(restorePts, chart.Point{X: x, Y: ms(rs)}), append(cpPts, chart.Point{X: x, Y: ms(c)})
		r.add(row{
			what: fmt.Sprintf("snapshot of a stopped VM, %s disk (%s written), %s", size, vm.Size(written), fs),
			ours: formatDuration(t), baseline: formatDuration(c) + " (cp)", ratio: ratio(t, c),
		})
		r.add(row{
			what: fmt.Sprintf("restore, %s disk (%s written), %s", size, vm.Size(written), fs),
			ours: formatDuration(rs), baseline: formatDuration(c) + " (cp)", ratio: ratio(rs, c),
		})
	}
	for _, g := range []struct {
		what string
		ds   []time.Duration
	}{{"snapshot", takes}, {"restore", restores}} {
		// A clone takes a few milliseconds whatever the size, and at that
		// scale a ratio measures the extent count and the machine's noise
		// (×1.3 to ×1.7 between runs here): instant counts as flat, as
		// for the clone rows.
		growth := float64(g.ds[1]) / float64(g.ds[0])
		r.add(row{
			what: fmt.Sprintf("%s time growth, %s → %s disk, %s", g.what, sizes[0], sizes[1], fs),
			ours: fmt.Sprintf("× %.2f", growth), baseline: fmt.Sprintf("× %.2f (cp)", float64(copies[1])/float64(copies[0])),
			goal: fmt.Sprintf("≤ 1.5: flat in disk size, or < 100 ms at %s: instant", sizes[1]), met: metIf(growth <= 1.5 || g.ds[1] < 100*time.Millisecond),
		})
	}
	return []chart.Series{
		{Label: "snapshot, " + fs, Points: takePts},
		{Label: "restore, " + fs, Points: restorePts},
		{Label: "cp, " + fs, Points: cpPts, Dashed: true},
	}, nil
}

// pausedLine is what the runner logs for a live snapshot.
var pausedLine = regexp.MustCompile(`snapshot "[^"]*" taken: the VM was paused (\S+) \(memory state (\S+)\)`)

// benchLiveSnapshot times how long `vivarium snapshot --live` pauses the
// test guest against the same QEMU command run by hand, paused, migrated
// to a file and resumed over QMP, as a person following QEMU's manual would.
func benchLiveSnapshot(ctx context.Context, cfg *config, r *report) error {
	g, err := newGuestBench(ctx, cfg, "live", "live")
	if err != nil {
		return err
	}
	rounds := 5
	if cfg.quick {
		rounds = 1
	}
	// Ours: the runner logs each live snapshot's pause.
	if err := g.vivarium(ctx, "start", "--headless", g.name); err != nil {
		return err
	}
	if err := waitReady(ctx, g.b.ConsoleLogPath()); err != nil {
		g.vivarium(context.WithoutCancel(ctx), "stop", "--force", g.name)
		return err
	}
	argv, err := qemuArgv(g.b)
	if err != nil {
		g.vivarium(context.WithoutCancel(ctx), "stop", "--force", g.name)
		return err
	}
	var ours, oursMem []time.Duration
	for round := range rounds {
		snap := fmt.Sprintf("live %d", round)
		if err := g.vivarium(ctx, "snapshot", "--live", g.name, snap); err != nil {
			g.vivarium(context.WithoutCancel(ctx), "stop", "--force", g.name)
			return err
		}
		p, m, err := lastPause(g.b.RunnerLogPath())
		if err != nil {
			return err
		}
		ours, oursMem = append(ours, p), append(oursMem, m)
		if err := snapshot.Delete(g.b, snap); err != nil {
			return err
		}
	}
	if err := g.vivarium(ctx, "stop", "--force", g.name); err != nil {
		return err
	}
	if err := waitStopped(ctx, g.b); err != nil {
		return err
	}
	hand, err := g.handMigrations(ctx, argv, rounds)
	if err != nil {
		return err
	}
	for round := range rounds {
		logRound("live snapshot pause", round, ours[round], hand[round])
	}
	o, h := best(ours), best(hand)
	r.add(row{
		what: "live snapshot: the guest's pause (memory state + disk copies)", ours: formatDuration(o),
		baseline: formatDuration(h) + " (QEMU stop, migrate to a file, cont)", ratio: ratio(o, h),
		goal: "≤ 1.2", met: metIf(ratio(o, h) <= 1.2),
	})
	r.add(row{
		what: "live snapshot: of which the memory state", ours: formatDuration(best(oursMem)),
		baseline: formatDuration(h), ratio: ratio(best(oursMem), h),
	})
	r.note("Live snapshot: `vivarium snapshot --live` of the running test guest (512 MiB, 1 CPU, TCG, a 64 MiB disk); the pause is what the runner measures and logs, from pausing the guest to resuming it, with the memory state (QEMU migration to a file through `exec:cat`, the speed limit lifted) and the disk copies in between. The baseline runs the very QEMU command line by hand and, over its QMP socket, sends `stop`, the same `migrate-set-parameters` and `migrate` to a file, polls `query-migrate` until it completes and sends `cont`; the time from `stop` to `cont`'s answer. Best of %d rounds each.", rounds)
	return nil
}

// qemuArgv reads the running VM's QEMU command line.
func qemuArgv(b vm.Bundle) ([]string, error) {
	data, err := os.ReadFile(b.PIDPath())
	if err != nil {
		return nil, fmt.Errorf("the runner's pid: %w", err)
	}
	var runner int
	if _, err := fmt.Sscan(string(data), &runner); err != nil {
		return nil, fmt.Errorf("%s holds %q", b.PIDPath(), data)
	}
	pid := childNamed(runner, "qemu-system")
	if pid == 0 {
		return nil, fmt.Errorf("the runner (pid %d) has no qemu-system child", runner)
	}
	return cmdline(pid)
}

// lastPause reads the last live snapshot's pause from the runner's log.
func lastPause(log string) (pause, memory time.Duration, err error) {
	data, err := os.ReadFile(log)
	if err != nil {
		return 0, 0, err
	}
	m := pausedLine.FindAllStringSubmatch(string(data), -1)
	if len(m) == 0 {
		return 0, 0, fmt.Errorf("%s says nothing of a live snapshot's pause", log)
	}
	last := m[len(m)-1]
	if pause, err = time.ParseDuration(last[1]); err == nil {
		memory, err = time.ParseDuration(last[2])
	}
	return pause, memory, err
}

// handMigrations boots argv by hand and times rounds of stop, migrate to
// a file, cont over its QMP socket.
func (g *guestBench) handMigrations(ctx context.Context, argv []string, rounds int) ([]time.Duration, error) {
	for _, p := range []string{g.b.ConsoleLogPath(), g.b.QMPSocketPath(), filepath.Join(g.b.RunDir(), "qemu.pid")} {
		os.Remove(p)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running QEMU by hand: %w", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	if err := waitReady(ctx, g.b.ConsoleLogPath()); err != nil {
		return nil, err
	}
	var mon *qmp.SocketMonitor
	err := pollUntil(ctx, 20*time.Millisecond, func() (bool, error) {
		m, err := qmp.NewSocketMonitor("unix", g.b.QMPSocketPath(), time.Second)
		if err != nil {
			return false, nil
		}
		if err := m.Connect(); err != nil {
			return false, nil
		}
		mon = m
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("QMP of QEMU run by hand: %w", err)
	}
	defer mon.Disconnect()
	run := func(command string, args any) ([]byte, error) {
		c, _ := json.Marshal(qmp.Command{Execute: command, Args: args})
		return mon.Run(c)
	}
	var out []time.Duration
	for round := range rounds {
		file := filepath.Join(g.home, fmt.Sprintf("hand-%d.state", round))
		t0 := time.Now()
		steps := []struct {
			cmd  string
			args any
		}{
			{"stop", nil},
			{"migrate-set-parameters", map[string]any{"max-bandwidth": int64(1) << 40}},
			{"migrate", map[string]any{"uri": "exec:cat > '" + file + "'"}},
		}
		for _, s := range steps {
			if _, err := run(s.cmd, s.args); err != nil {
				return nil, fmt.Errorf("QMP %s: %w", s.cmd, err)
			}
		}
		err := pollUntil(ctx, 10*time.Millisecond, func() (bool, error) {
			raw, err := run("query-migrate", nil)
			if err != nil {
				return false, err
			}
			var q struct {
				Return struct {
					Status string `json:"status"`
				} `json:"return"`
			}
			json.Unmarshal(raw, &q)
			switch q.Return.Status {
			case "completed":
				return true, nil
			case "failed", "cancelled":
				return false, errors.New("migration " + q.Return.Status)
			}
			return false, nil
		})
		if err != nil {
			return nil, err
		}
		// Durable, like Vivarium's state file.
		if err := syncFile(file); err != nil {
			return nil, err
		}
		if _, err := run("cont", nil); err != nil {
			return nil, fmt.Errorf("QMP cont: %w", err)
		}
		out = append(out, time.Since(t0))
		os.Remove(file)
	}
	return out, nil
}
