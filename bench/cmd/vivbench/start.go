//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vivarium-vm/vivarium/internal/testguest"
	"github.com/vivarium-vm/vivarium/vm"
)

// bootTimeout bounds one boot of the test guest: TCG on a loaded two-core
// machine is slow.
const bootTimeout = 2 * time.Minute

// guestBench is the test guest's VM in a library of its own.
type guestBench struct {
	cfg  *config
	home string
	name string
	b    vm.Bundle
}

func (g *guestBench) vivarium(ctx context.Context, args ...string) error {
	_, err := timeCommand(ctx, nil, g.cfg.vivarium, append(args, "--library", g.home)...)
	return err
}

// newGuestBench makes a VM called name that boots the test guest, in a
// library of its own in the work folder dir; a skip where QEMU or the
// guest is not to be had.
func newGuestBench(ctx context.Context, cfg *config, dir, name string) (*guestBench, error) {
	if _, reason := testguest.QEMUAvailable(); reason != "" {
		return nil, skipf("%s", reason)
	}
	gctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	guest, err := testguest.Ensure(gctx)
	cancel()
	if err != nil {
		return nil, skipf("the test guest cannot be built here: %v", err)
	}
	g := &guestBench{cfg: cfg, home: filepath.Join(cfg.work, dir), name: name}
	g.b = vm.Bundle{Dir: filepath.Join(g.home, g.name+vm.BundleExt)}
	if err := g.vivarium(ctx, "create", "--kernel", guest.Kernel, "--initrd", guest.Initrd,
		"--cmdline", testguest.Cmdline(nil, nil), "--disk", "64MiB", "--memory", "512MiB", "--cpus", "1",
		"--network", "none", "--clipboard=false", g.name); err != nil {
		return nil, err
	}
	return g, nil
}

// waitReady waits for the guest's ready marker on the console file.
func waitReady(ctx context.Context, console string) error {
	ctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	_, err := testguest.WaitForMarker(ctx, console, testguest.ReadyMarker)
	return err
}

// startSample is one measured `vivarium start`.
type startSample struct {
	took      time.Duration
	toQEMU    time.Duration // from exec of `vivarium start` to QEMU's exec
	runnerKiB int64
	qemuKiB   int64
	qemuArgv  []string
}

// ourStart times `vivarium start --headless` to the guest's ready marker,
// then measures the runner's and QEMU's memory, notes QEMU's command line,
// and stops the VM.
func (g *guestBench) ourStart(ctx context.Context, memSamples int) (startSample, error) {
	var s startSample
	boot0, t0 := bootClock(), time.Now()
	if err := g.vivarium(ctx, "start", "--headless", g.name); err != nil {
		return s, err
	}
	err := waitReady(ctx, g.b.ConsoleLogPath())
	s.took = time.Since(t0)
	defer g.vivarium(context.WithoutCancel(ctx), "stop", "--force", g.name)
	if err != nil {
		return s, err
	}
	data, err := os.ReadFile(g.b.PIDPath())
	if err != nil {
		return s, fmt.Errorf("the runner's pid: %w", err)
	}
	runner, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return s, fmt.Errorf("%s holds %q", g.b.PIDPath(), data)
	}
	qemu := childNamed(runner, "qemu-system")
	if qemu == 0 {
		return s, fmt.Errorf("the runner (pid %d) has no qemu-system child", runner)
	}
	if s.qemuArgv, err = cmdline(qemu); err != nil {
		return s, err
	}
	started, err := startedAt(qemu)
	if err != nil {
		return s, err
	}
	s.toQEMU = started - boot0
	for i := range memSamples {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		rk, err := rssKiB(runner)
		if err != nil {
			return s, err
		}
		qk, err := rssKiB(qemu)
		if err != nil {
			return s, err
		}
		s.runnerKiB, s.qemuKiB = max(s.runnerKiB, rk), max(s.qemuKiB, qk)
	}
	return s, nil
}

// handStart times the same QEMU command line run directly, to the same
// marker, then kills it.
func (g *guestBench) handStart(ctx context.Context, argv []string) (time.Duration, error) {
	// What QEMU creates, as the runner clears it before each start.
	for _, p := range []string{g.b.ConsoleLogPath(), g.b.QMPSocketPath(), filepath.Join(g.b.RunDir(), "qemu.pid")} {
		os.Remove(p)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("running QEMU by hand: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ready := make(chan error, 1)
	go func() { ready <- waitReady(ctx, g.b.ConsoleLogPath()) }()
	var err error
	select {
	case err = <-ready:
	case err = <-exited:
		return 0, fmt.Errorf("QEMU run by hand exited before the marker (%v): %s", err, lastLine(stderr.String()))
	}
	took := time.Since(t0)
	cmd.Process.Kill()
	<-exited
	for _, p := range []string{g.b.QMPSocketPath(), filepath.Join(g.b.RunDir(), "qemu.pid")} {
		os.Remove(p)
	}
	return took, err
}

// benchStart times `vivarium start` to the guest's ready marker against
// the same qemu-system-x86_64 command run by hand, and measures the
// runner's memory while the VM runs.
func benchStart(ctx context.Context, cfg *config, r *report) error {
	g, err := newGuestBench(ctx, cfg, "start", "bench")
	if err != nil {
		return err
	}
	rounds, memSamples := 5, 10
	if cfg.quick {
		rounds, memSamples = 1, 1
	}
	var ours, hand, toQEMU []time.Duration
	var runnerKiB, qemuKiB []int64
	var argv []string
	ourRun := func() error {
		s, err := g.ourStart(ctx, memSamples)
		if err != nil {
			if strings.Contains(err.Error(), vm.ErrUnsupported.Error()) {
				return skipf("vivarium cannot start a QEMU VM here: %v", err)
			}
			return err
		}
		ours, toQEMU = append(ours, s.took), append(toQEMU, s.toQEMU)
		runnerKiB, qemuKiB = append(runnerKiB, s.runnerKiB), append(qemuKiB, s.qemuKiB)
		argv = s.qemuArgv
		return waitStopped(ctx, g.b)
	}
	handRun := func() error {
		d, err := g.handStart(ctx, argv)
		hand = append(hand, d)
		return err
	}
	for round := range rounds {
		// The first round must be ours: it learns QEMU's command line.
		if err := alternate(round, ourRun, handRun); err != nil {
			return err
		}
		logRound("start to ready marker", round, ours[round], hand[round])
		fmt.Fprintf(os.Stderr, "   QEMU started %s after `vivarium start`; runner %s, QEMU %s\n",
			formatDuration(toQEMU[round]), formatKiB(runnerKiB[round]), formatKiB(qemuKiB[round]))
	}
	o, h := best(ours), best(hand)
	r.add(row{
		what: "`vivarium start` → guest ready marker", ours: formatDuration(o), baseline: formatDuration(h) + " (qemu by hand)",
		ratio: ratio(o, h), goal: "≤ 1.05", met: metIf(ratio(o, h) <= 1.05),
	})
	q := best(toQEMU)
	r.add(row{
		what: "`vivarium start` → QEMU process started (Vivarium's own part)", ours: formatDuration(q), baseline: formatDuration(h) + " (boot by hand)",
		ratio: ratio(q, h), goal: "≤ 0.05 of the boot", met: metIf(ratio(q, h) <= 0.05),
	})
	rk, qk := medianInt(runnerKiB), medianInt(qemuKiB)
	r.add(row{
		what: "runner memory (RSS) while a VM runs", ours: formatKiB(rk), baseline: formatKiB(qk) + " (its QEMU)",
		ratio: float64(rk) / float64(qk), goal: "≤ 0.10 of QEMU's", met: metIf(float64(rk) <= 0.10*float64(qk)),
	})
	r.note("Start: from running `vivarium start --headless` (which spawns the runner, which starts QEMU) to the test guest's `%s` on its serial console (run/console.log, polled every 20 ms), against the very command line the runner gave QEMU (read from /proc/PID/cmdline) run directly, to the same marker; best of %d rounds, alternating. Vivarium's own part is the time from `vivarium start` to QEMU's exec (its start time in /proc/PID/stat, 10 ms resolution): what the runner adds before the same boot, and what the ratio's 5 %% allows. The guest is Debian's kernel and a busybox initramfs (internal/testguest), 1 CPU, 512 MiB, TCG.", testguest.ReadyMarker, rounds)
	r.note("Runner memory: the largest VmRSS of the `vivarium run` process over %d samples 200 ms apart once the guest is up, QEMU excluded; QEMU's own VmRSS alongside.", memSamples)
	return nil
}

// waitStopped waits until no runner holds the VM.
func waitStopped(ctx context.Context, b vm.Bundle) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := pollUntil(ctx, 20*time.Millisecond, func() (bool, error) { return !b.Locked(), nil })
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s still runs a minute after a forced stop", b.Name())
	}
	return err
}

func medianInt(xs []int64) int64 {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x)
	}
	return int64(median(ds))
}
