//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/vivarium-vm/vivarium/internal/testguest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vivarium-vm/vivarium/bench/internal/chart"
)

// Output file names, in -out.
const (
	resultsFile = "RESULTS.md"
	plotFile    = "results.png"
)

// row is one line of the results table.
type row struct {
	what     string
	ours     string
	baseline string
	ratio    float64 // ours ÷ baseline; 0 when there is no baseline
	goal     string
	// met is "yes" or "no" against the goal, "" when there is none.
	met string
}

// report collects the results of one run.
type report struct {
	quick   bool
	machine string
	started time.Time
	rows    []row
	notes   []string
	skips   []string
	panels  []chart.Panel
}

func (r *report) add(rw row) { r.rows = append(r.rows, rw) }
func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}
func (r *report) skip(bench, reason string) {
	r.skips = append(r.skips, fmt.Sprintf("**%s**: %s", bench, reason))
}
func (r *report) plot(p chart.Panel) { r.panels = append(r.panels, p) }

// skipError is a benchmark that cannot run here, and why.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

func skipf(format string, args ...any) error {
	return &skipError{reason: fmt.Sprintf(format, args...)}
}

func asSkip(err error, target **skipError) bool { return errors.As(err, target) }

// metIf says whether a goal holds.
func metIf(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func (r *report) markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintln(&b, "# Vivarium benchmarks")
	fmt.Fprintln(&b)
	mode := "`make bench` (`bench/run.sh`)"
	if r.quick {
		mode = "`bench/run.sh --quick` (small sizes, one iteration: a check that every benchmark works, not a measurement)"
	}
	fmt.Fprintf(&b, "Written by %s on %s, in %s.\n", mode, r.started.UTC().Format("2006-01-02 15:04 MST"), time.Since(r.started).Round(time.Second))
	fmt.Fprintln(&b, "Each ratio is ours ÷ the plain tool, both measured in this run on this machine, in alternating rounds.")
	fmt.Fprintln(&b, "Times are the best round of each (other processes only ever add time, so the best round is the closest")
	fmt.Fprintln(&b, "to the cost of the work itself); memory is the median. On a shared machine absolute times are noise:")
	fmt.Fprintln(&b, "the ratios are the result, and every round is in the log `bench/run.sh` prints.")
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "Machine: %s\n\n", r.machine)
	fmt.Fprintln(&b, "| what | ours | baseline | ratio | goal | met |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---|---|")
	for _, rw := range r.rows {
		ratio := "—"
		if rw.ratio > 0 {
			ratio = formatRatio(rw.ratio)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", rw.what, orDash(rw.ours), orDash(rw.baseline), ratio, orDash(rw.goal), orDash(rw.met))
	}
	if len(r.panels) > 0 {
		fmt.Fprintf(&b, "\n![benchmark curves](%s)\n", plotFile)
	}
	if len(r.notes) > 0 {
		fmt.Fprintln(&b, "\n## How each is measured")
		fmt.Fprintln(&b)
		for _, n := range r.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(r.skips) > 0 {
		fmt.Fprintln(&b, "\n## Not measured in this run")
		fmt.Fprintln(&b)
		for _, s := range r.skips {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.Bytes()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func formatRatio(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	case x >= 0.01:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.4f", x)
	}
}

// write writes RESULTS.md and, when something was plotted, results.png.
func (r *report) write(dir string) error {
	if len(r.panels) > 0 {
		var png bytes.Buffer
		if err := chart.Render(&png, 560, 460, r.panels); err != nil {
			return fmt.Errorf("drawing %s: %w", plotFile, err)
		}
		if err := os.WriteFile(filepath.Join(dir, plotFile), png.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", plotFile, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, resultsFile), r.markdown(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", resultsFile, err)
	}
	return nil
}

// describeMachine is the one line that says where the numbers come from.
func describeMachine(workDir string) string {
	var parts []string
	if cpu := firstMatch("/proc/cpuinfo", "model name"); cpu != "" {
		parts = append(parts, fmt.Sprintf("%s × %d", cpu, runtime.NumCPU()))
	} else {
		parts = append(parts, fmt.Sprintf("%d CPUs", runtime.NumCPU()))
	}
	if mem := firstMatch("/proc/meminfo", "MemTotal"); mem != "" {
		if kb, err := strconv.ParseFloat(strings.Fields(mem)[0], 64); err == nil {
			parts = append(parts, fmt.Sprintf("%.1f GiB RAM", kb/(1<<20)))
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		parts = append(parts, "Linux "+unix.ByteSliceToString(u.Release[:]))
	}
	parts = append(parts, "scratch on "+fsType(workDir))
	parts = append(parts, runtime.Version())
	if out, err := exec.Command("qemu-system-x86_64", "--version").Output(); err == nil {
		parts = append(parts, strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
	}
	if a := os.Getenv(testguest.AccelEnv); a != "" {
		parts = append(parts, "accelerator "+a+" (probed)")
	} else if _, err := os.Stat("/dev/kvm"); err != nil {
		parts = append(parts, "no KVM (TCG)")
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		parts = append(parts, "load average "+strings.Join(strings.Fields(string(load))[:3], " ")+" at the start")
	}
	return strings.Join(parts, "; ")
}

func firstMatch(path, key string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// fsType names the filesystem holding dir.
func fsType(dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "an unknown filesystem"
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "XFS"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return fmt.Sprintf("filesystem 0x%x", st.Type)
}
