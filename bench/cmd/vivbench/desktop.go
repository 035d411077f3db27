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
	"strings"
	"time"

	"github.com/vivarium-vm/vivarium/internal/desktopguest"
	"github.com/vivarium-vm/vivarium/internal/testguest"
	"github.com/vivarium-vm/vivarium/internal/xdisplay"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

// desktopBootTimeout bounds one boot of the desktop guest to its report
// share saying ready (X and the SPICE agent up), under TCG.
const desktopBootTimeout = 5 * time.Minute

// desktopSizes are the screens the window is resized to, in turn: grow,
// shrink, back to the configured size.
var desktopSizes = [][2]int{{1360, 850}, {800, 600}, {1152, 720}}

// desktopSamples are one boot's measurements.
type desktopSamples struct {
	resize    []time.Duration // window size set → guest screen changed
	roundTrip []time.Duration // host clipboard → guest → host clipboard
	viewerKiB int64           // the window program's memory
	qemuKiB   int64
}

// measure resizes the window through every size rounds times, and passes
// a unique text around the clipboard rounds times.
func (s *desktopSamples) measure(ctx context.Context, sess *desktopguest.Session, rounds int, label string) error {
	for round := range rounds {
		for _, size := range desktopSizes {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			d, err := sess.Resize(sctx, size[0], size[1])
			cancel()
			if err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			s.resize = append(s.resize, d)
		}
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		there, err := sess.HostToGuest(sctx, fmt.Sprintf("%s host %d %d", label, round, time.Now().UnixNano()))
		var back time.Duration
		if err == nil {
			back, err = sess.GuestToHost(sctx, fmt.Sprintf("%s guest %d %d", label, round, time.Now().UnixNano()))
		}
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		s.roundTrip = append(s.roundTrip, there+back)
		fmt.Fprintf(os.Stderr, "   %s, round %d: resizes %v, clipboard round trip %s\n", label, round+1,
			s.resize[len(s.resize)-len(desktopSizes):], formatDuration(there+back))
	}
	return nil
}

// desktopBench is the desktop guest's VM in a library of its own, its
// window on an Xvfb display.
type desktopBench struct {
	cfg     *config
	home    string
	name    string
	b       vm.Bundle
	display xdisplay.Display
	report  desktopguest.Report
}

func (d *desktopBench) vivarium(ctx context.Context, args ...string) error {
	_, err := timeCommand(ctx, []string{"DISPLAY=" + d.display.Name}, d.cfg.vivarium, append(args, "--library", d.home)...)
	return err
}

// fresh clears the report share, so a boot's reports are its own.
func (d *desktopBench) fresh() error {
	entries, err := os.ReadDir(d.report.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(d.report.Dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// session waits for the guest's desktop and the window titled title.
func (d *desktopBench) session(ctx context.Context, title string) (*desktopguest.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, desktopBootTimeout)
	defer cancel()
	if err := d.report.WaitFor(ctx, desktopguest.ReportReady, "ready"); err != nil {
		return nil, fmt.Errorf("the desktop guest did not come up: %w", err)
	}
	win, err := d.display.WaitWindow(ctx, title)
	if err != nil {
		return nil, err
	}
	sess := &desktopguest.Session{Display: d.display, Window: win, Report: d.report}
	last := desktopSizes[len(desktopSizes)-1]
	if err := sess.Frame(ctx, last[0], last[1]); err != nil {
		return nil, err
	}
	_, err = sess.WaitClipboardLink(ctx)
	return sess, err
}

// ours runs the VM with `vivarium start` (the runner opens the window),
// measures, and returns QEMU's and the viewer's command lines for the
// run by hand.
func (d *desktopBench) ours(ctx context.Context, rounds int) (s desktopSamples, qemuArgv, viewerArgv []string, err error) {
	if err := d.fresh(); err != nil {
		return s, nil, nil, err
	}
	if err := d.vivarium(ctx, "start", d.name); err != nil {
		return s, nil, nil, err
	}
	defer d.vivarium(context.WithoutCancel(ctx), "stop", "--force", d.name)
	sess, err := d.session(ctx, d.name)
	if err != nil {
		return s, nil, nil, err
	}
	runner, err := readPID(d.b.PIDPath())
	if err != nil {
		return s, nil, nil, err
	}
	qemuPID, viewerPID := childNamed(runner, "qemu-system"), childNamed(runner, qemu.ViewerProgram)
	if qemuPID == 0 || viewerPID == 0 {
		return s, nil, nil, fmt.Errorf("the runner (pid %d) has no QEMU (%d) or %s (%d) child", runner, qemuPID, qemu.ViewerProgram, viewerPID)
	}
	if qemuArgv, err = cmdline(qemuPID); err != nil {
		return s, nil, nil, err
	}
	if viewerArgv, err = cmdline(viewerPID); err != nil {
		return s, nil, nil, err
	}
	if err := s.measure(ctx, sess, rounds, "vivarium"); err != nil {
		return s, nil, nil, err
	}
	s.viewerKiB, _ = rssKiB(viewerPID)
	s.qemuKiB, _ = rssKiB(qemuPID)
	return s, qemuArgv, viewerArgv, nil
}

// byHand runs the same QEMU command line and the same SPICE viewer command
// directly, as a person following virt-manager's recipe would, and
// measures the same operations.
func (d *desktopBench) byHand(ctx context.Context, rounds int, qemuArgv, viewerArgv []string) (s desktopSamples, err error) {
	if err := d.fresh(); err != nil {
		return s, err
	}
	for _, p := range []string{d.b.QMPSocketPath(), d.b.SpiceSocketPath(), d.b.QEMUPIDPath()} {
		os.Remove(p)
	}
	if err := d.b.EnsureRunDir(); err != nil {
		return s, err
	}
	var qemuOut bytes.Buffer
	q := exec.Command(qemuArgv[0], qemuArgv[1:]...)
	q.Stdout, q.Stderr = &qemuOut, &qemuOut
	if err := q.Start(); err != nil {
		return s, fmt.Errorf("QEMU by hand: %w", err)
	}
	defer func() { q.Process.Kill(); q.Wait() }()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = pollUntil(sctx, 20*time.Millisecond, func() (bool, error) {
		_, err := os.Stat(d.b.SpiceSocketPath())
		return err == nil, nil
	})
	cancel()
	if err != nil {
		return s, fmt.Errorf("QEMU by hand made no SPICE socket: %w: %s", err, lastLine(qemuOut.String()))
	}
	viewer := exec.Command(viewerArgv[0], viewerArgv[1:]...)
	viewer.Env = d.display.Env()
	if err := viewer.Start(); err != nil {
		return s, fmt.Errorf("%s by hand: %w", qemu.ViewerProgram, err)
	}
	defer func() { viewer.Process.Kill(); viewer.Wait() }()
	sess, err := d.session(ctx, d.name)
	if err != nil {
		return s, err
	}
	if err := s.measure(ctx, sess, rounds, "by hand"); err != nil {
		return s, err
	}
	s.viewerKiB, _ = rssKiB(viewer.Process.Pid)
	s.qemuKiB, _ = rssKiB(q.Process.Pid)
	return s, nil
}

func readPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("the runner's pid: %w", err)
	}
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(string(data)), &pid); err != nil {
		return 0, fmt.Errorf("%s holds %q", path, data)
	}
	return pid, nil
}

// benchDesktop measures the Linux desktop window (QEMU's SPICE server and
// the remote-viewer window the runner opens) on the real desktop guest:
// how soon the guest's screen follows the window's size, and a clipboard
// round trip, against the same QEMU and viewer run by hand.
func benchDesktop(ctx context.Context, cfg *config, r *report) error {
	if cfg.quick {
		return skipf("boots the desktop guest twice (several minutes under TCG); `make bench` runs it, and the desktop guest tests prove it works")
	}
	if _, reason := testguest.QEMUAvailable(); reason != "" {
		return skipf("%s", reason)
	}
	if why := xdisplay.MissingHostTools(); why != "" {
		return skipf("%s", why)
	}
	if _, err := exec.LookPath(qemu.ViewerProgram); err != nil {
		return skipf("%v (Debian: apt-get install virt-viewer)", err)
	}
	gctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	guest, err := desktopguest.Ensure(gctx)
	cancel()
	if err != nil {
		return skipf("the desktop guest cannot be built here: %v", err)
	}
	display, stop, err := xdisplay.StartXvfb("1600x1000x24")
	if err != nil {
		return err
	}
	defer stop()
	d := &desktopBench{cfg: cfg, home: filepath.Join(cfg.work, "desktop"), name: "desktop", display: display,
		report: desktopguest.Report{Dir: filepath.Join(cfg.work, "desktop-report")}}
	d.b = vm.Bundle{Dir: filepath.Join(d.home, d.name+vm.BundleExt)}
	if err := os.MkdirAll(d.report.Dir, 0o755); err != nil {
		return err
	}
	last := desktopSizes[len(desktopSizes)-1]
	if err := d.vivarium(ctx, "create", "--kernel", guest.Kernel, "--initrd", guest.Initrd, "--cmdline", guest.Cmdline(),
		"--import-disk", guest.Image, "--disk", "0", "--memory", "1GiB", "--cpus", "2", "--network", "none",
		"--share", d.report.Dir+":"+desktopguest.ReportTag, d.name); err != nil {
		return err
	}
	if err := d.vivarium(ctx, "set", d.name, fmt.Sprintf("display.width=%d", last[0]), fmt.Sprintf("display.height=%d", last[1])); err != nil {
		return err
	}
	const rounds = 3
	ours, qemuArgv, viewerArgv, err := d.ours(ctx, rounds)
	if err != nil {
		return err
	}
	if err := waitStopped(ctx, d.b); err != nil {
		return err
	}
	hand, err := d.byHand(ctx, rounds, qemuArgv, viewerArgv)
	if err != nil {
		return err
	}
	if len(ours.resize) == 0 || len(hand.resize) == 0 {
		return errors.New("no resize measured")
	}
	o, h := median(ours.resize), median(hand.resize)
	r.add(row{
		what: "desktop window resized → guest screen follows (median)", ours: formatDuration(o), baseline: formatDuration(h) + " (QEMU + remote-viewer by hand)",
		ratio: ratio(o, h), goal: "≤ 1.2", met: metIf(ratio(o, h) <= 1.2),
	})
	o, h = median(ours.roundTrip), median(hand.roundTrip)
	r.add(row{
		what: "clipboard round trip host → guest → host (median)", ours: formatDuration(o), baseline: formatDuration(h) + " (QEMU + remote-viewer by hand)",
		ratio: ratio(o, h), goal: "≤ 1.2", met: metIf(ratio(o, h) <= 1.2),
	})
	r.add(row{
		what: "the VM window's memory (remote-viewer RSS)", ours: formatKiB(ours.viewerKiB), baseline: formatKiB(ours.qemuKiB) + " (its QEMU)",
		ratio: float64(ours.viewerKiB) / float64(max(ours.qemuKiB, 1)),
	})
	r.note("Desktop: the real desktop guest (Debian 12, Xorg, spice-vdagent; internal/desktopguest), 2 CPUs, 1 GiB, TCG, its window the SPICE viewer on an Xvfb display, run once by `vivarium start` (the runner opens %s) and once by hand with the very QEMU and viewer command lines the runner used (from /proc/PID/cmdline). Resize: xdotool sets the window to show %v in turn, %d rounds; the time runs until the guest's session (which polls xrandr every 0.2 s) reports the new size through a 9p share. Clipboard: xclip copies a unique text on the host until the guest's session reports it, then the session copies another in the guest until xclip reads it on the host; %d rounds. Medians: these are latencies of the guest, not of work Vivarium does.", qemu.ViewerProgram, desktopSizes, rounds, rounds)
	return nil
}
