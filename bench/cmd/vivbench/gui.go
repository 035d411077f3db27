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

	"github.com/vivarium-vm/vivarium/vm"
)

// errNoWindow means the program exited without showing a window.
var errNoWindow = errors.New("exited without opening a window")

// xvfb is a virtual X display for the GUI benchmark.
type xvfb struct {
	display string
	cmd     *exec.Cmd
}

func startXvfb(ctx context.Context) (*xvfb, error) {
	for n := 140; n < 200; n++ {
		sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		if _, err := os.Stat(sock); err == nil {
			continue
		}
		cmd := exec.Command("Xvfb", fmt.Sprintf(":%d", n), "-screen", "0", "1440x900x24", "-nolisten", "tcp")
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting Xvfb: %w", err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := pollUntil(wctx, 20*time.Millisecond, func() (bool, error) {
			_, err := os.Stat(sock)
			return err == nil, nil
		})
		cancel()
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("virtual display (Xvfb) :%d did not come up: %w", n, err)
		}
		return &xvfb{display: fmt.Sprintf(":%d", n), cmd: cmd}, nil
	}
	return nil, errors.New("no free X display from :140 to :199")
}

func (x *xvfb) stop() { x.cmd.Process.Kill(); x.cmd.Wait() }

// why picks the line of a program's output that says why it ended: a Go
// panic or fatal error, else its last line.
func why(output string) string {
	for _, line := range strings.Split(output, "\n") {
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			return line
		}
	}
	return lastLine(output)
}

// windowSample is one cold start of a windowed program.
type windowSample struct {
	toWindow time.Duration
	idleKiB  int64
}

// openWindow starts argv on the display, times it until a visible window
// whose title matches titleRE exists, waits idle, then reads its memory
// and kills it. xdotool is polled every 20 ms rather than run with --sync,
// which sleeps half a second between looks.
func openWindow(ctx context.Context, x *xvfb, env []string, titleRE string, idle time.Duration, argv ...string) (windowSample, error) {
	var s windowSample
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), "DISPLAY="+x.display), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return s, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() { cmd.Process.Kill(); <-exited }()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := pollUntil(wctx, 20*time.Millisecond, func() (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("%w: %s", errNoWindow, why(out.String()))
		default:
		}
		search := exec.Command("xdotool", "search", "--onlyvisible", "--name", titleRE)
		search.Env = append(os.Environ(), "DISPLAY="+x.display)
		found, _ := search.Output()
		return len(bytes.TrimSpace(found)) > 0, nil
	})
	s.toWindow = time.Since(t0)
	if err != nil {
		return s, err
	}
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return s, ctx.Err()
	}
	s.idleKiB, err = rssKiB(cmd.Process.Pid)
	return s, err
}

// benchGUI times the library window's cold start to its first visible
// frame under Xvfb, with 100 VMs in the library, and its idle memory,
// against an empty fyne window.
func benchGUI(ctx context.Context, cfg *config, r *report) error {
	for _, tool := range []string{"Xvfb", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return skipf("%s not found (%v); install xvfb and xdotool", tool, err)
		}
	}
	vms, rounds, idle := 100, 3, 5*time.Second
	if cfg.quick {
		vms, rounds, idle = 10, 1, time.Second
	}
	lib, err := vm.OpenLibrary(filepath.Join(cfg.work, "gui"))
	if err != nil {
		return err
	}
	if err := fillLibrary(ctx, lib, vms); err != nil {
		return err
	}
	x, err := startXvfb(ctx)
	if err != nil {
		return err
	}
	defer x.stop()

	// The baseline is built only once the library window is known to open.
	launches, crashes := 0, 0
	// A launch that crashes before its window shows (fyne's GLFW driver,
	// rarely, under Xvfb) is retried and counted, not hidden.
	openOurs := func() (windowSample, error) {
		for attempt := 0; ; attempt++ {
			launches++
			s, err := openWindow(ctx, x, []string{"VIVARIUM_HOME=" + lib.Root}, "^Vivarium", idle, cfg.vivarium)
			if err == nil || !errors.Is(err, errNoWindow) || !strings.Contains(err.Error(), "panic") || attempt == 2 {
				return s, err
			}
			crashes++
			fmt.Fprintf(os.Stderr, "   the library window crashed before showing (%v); retrying\n", err)
		}
	}
	first, err := openOurs()
	if errors.Is(err, errNoWindow) {
		return skipf("the library window did not open (%v): the GUI is not built into the vivarium binary yet", err)
	}
	if err != nil {
		return fmt.Errorf("the library window: %w", err)
	}
	blank := filepath.Join(cfg.work, "fyneblank")
	build := exec.CommandContext(ctx, "go", "build", "-o", blank, "./bench/cmd/fyneblank")
	build.Dir = cfg.root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the empty fyne window: %w: %s", err, lastLine(string(out)))
	}
	ours, base := []windowSample{first}, []windowSample{}
	for i := range rounds {
		if i > 0 {
			s, err := openOurs()
			if err != nil {
				return fmt.Errorf("the library window: %w", err)
			}
			ours = append(ours, s)
		}
		s, err := openWindow(ctx, x, nil, "^"+blankTitle+"$", idle, blank)
		if err != nil {
			return fmt.Errorf("the empty fyne window: %w", err)
		}
		base = append(base, s)
		logRound("GUI to first window", i, ours[i].toWindow, s.toWindow)
	}
	ot, bt := bestWindow(ours), bestWindow(base)
	om, bm := medianMemory(ours), medianMemory(base)
	r.add(row{
		what: fmt.Sprintf("GUI cold start to first window, %d VMs", vms), ours: formatDuration(ot),
		baseline: formatDuration(bt) + " (empty fyne window)", ratio: ratio(ot, bt),
		goal: "≤ 2 × an empty fyne window", met: metIf(float64(ot) <= 2*float64(bt)),
	})
	r.add(row{
		what: fmt.Sprintf("GUI memory (RSS) idle %s after start, %d VMs", idle, vms), ours: formatKiB(om),
		baseline: formatKiB(bm) + " (empty fyne window)", ratio: float64(om) / float64(bm),
		goal: "≤ 2 × an empty fyne window", met: metIf(float64(om) <= 2*float64(bm)),
	})
	if crashes > 0 {
		r.note("GUI: %d of %d launches of the library window crashed inside fyne's GLFW driver before showing a window and were retried (see the log).", crashes, launches)
	}
	r.note("GUI: `vivarium` with no arguments under Xvfb (1440x900x24) with a library of %d VMs, from exec to a visible window titled Vivarium (`xdotool search --onlyvisible`, polled every 20 ms), and its VmRSS after %s idle (median); the baseline is an empty fyne window (bench/cmd/fyneblank) measured the same way; best of %d rounds, alternating. Software OpenGL (Mesa llvmpipe), so both draw on the CPU.", vms, idle, rounds)
	return nil
}

// blankTitle is the title of bench/cmd/fyneblank's window.
const blankTitle = "fyne blank"

func bestWindow(samples []windowSample) time.Duration {
	ds := make([]time.Duration, len(samples))
	for i, s := range samples {
		ds[i] = s.toWindow
	}
	return best(ds)
}

func medianMemory(samples []windowSample) int64 {
	xs := make([]int64, len(samples))
	for i, s := range samples {
		xs[i] = s.idleKiB
	}
	return medianInt(xs)
}
