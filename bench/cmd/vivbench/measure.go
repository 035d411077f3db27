//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vivarium-vm/vivarium/internal/procfs"
)

// best is the shortest of the samples. Other processes on a shared machine
// only ever add time to a run, so the best run is the closest to the cost of
// the work itself, for ours and the baseline alike.
func best(samples []time.Duration) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	return slices.Min(samples)
}

// median of the samples (the mean of the middle two for an even count).
func median(samples []time.Duration) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(ours, baseline time.Duration) float64 {
	if baseline <= 0 {
		return 0
	}
	return float64(ours) / float64(baseline)
}

// ms is a duration in milliseconds, for the plots.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// formatDuration writes a duration with three significant digits.
func formatDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", ms(d))
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", ms(d))
	default:
		return fmt.Sprintf("%.2f ms", ms(d))
	}
}

func formatMs(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%gs", math.Round(v/100)/10)
	case v >= 1:
		return fmt.Sprintf("%gms", math.Round(v*10)/10)
	default:
		return fmt.Sprintf("%gms", math.Round(v*100)/100)
	}
}

func formatKiB(kib int64) string {
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

// logRound prints one round's numbers, so a reader of the log sees the
// spread the best-of figures hide.
func logRound(what string, round int, ours, baseline time.Duration) {
	fmt.Fprintf(os.Stderr, "   %s, round %d: ours %s, baseline %s\n", what, round+1, formatDuration(ours), formatDuration(baseline))
}

// timeCommand runs a command to its end and returns how long it took. Its
// output is discarded unless it fails, when the error carries it.
func timeCommand(ctx context.Context, env []string, name string, args ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0)
	if err != nil {
		return took, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLine(stderr.String()))
	}
	return took, nil
}

// timeFunc runs f and returns how long it took.
func timeFunc(f func() error) (time.Duration, error) {
	t0 := time.Now()
	err := f()
	return time.Since(t0), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// rssKiB is a process's resident memory (VmRSS) in KiB.
func rssKiB(pid int) (int64, error) {
	v := firstMatch(fmt.Sprintf("/proc/%d/status", pid), "VmRSS")
	if v == "" {
		return 0, fmt.Errorf("process %d: no VmRSS in /proc/%d/status (has it exited?)", pid, pid)
	}
	return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
}

// childNamed returns the first live child of parent whose name starts with
// prefix, or 0.
func childNamed(parent int, prefix string) int {
	if kids := procfs.Children(parent, prefix); len(kids) > 0 {
		return kids[0]
	}
	return 0
}

// cmdline is a process's argument vector.
func cmdline(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00"), nil
}

// pollUntil checks cond every interval until it holds or ctx ends.
func pollUntil(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTicks = 100

// bootClock is the time since boot, the clock /proc/PID/stat counts in.
func bootClock() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// startedAt is when a process started, on the boot clock.
func startedAt(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// syncFile flushes a file's data to disk.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
