// Package testguest gets Vivarium's tiny real test guest and speaks its
// console protocol, so that tests anywhere in the module can boot a real
// Linux guest under qemu-system-x86_64 (TCG is enough: READY in a few seconds).
//
// The guest is Debian's kernel (as an uncompressed vmlinux that QEMU boots
// directly on -M q35) and a busybox initramfs, built by scripts/testguest.sh
// (`make testguest`) and cached; [Ensure] runs that script when needed.
//
// # The guest's /init contract
//
//   - It mounts /proc, /sys and /dev (devtmpfs) and loads, in dependency
//     order, virtio_mmio virtio_pci virtio_blk virtio_console 9pnet_virtio 9p
//     virtio_net ext4 button evdev virtio_gpu (with the DRM modules that put
//     the text console on a virtio-vga/virtio-gpu screen).
//   - It runs busybox acpid: the ACPI power button (QMP system_powerdown, a
//     polite stop) reaches it through the button's evdev and runs
//     /etc/acpi/PWRF/00000080, which powers the guest off (poweroff -f), so
//     QEMU exits.
//   - vivarium.shares=tag1,tag2 on the kernel command line mounts each 9p tag
//     at /mnt/<tag> (trans=virtio, version=9p2000.L).
//   - It prints [ReadyMarker] on the serial console (ttyS0 at 115200) once
//     modules are loaded and shares mounted.
//   - vivarium.actions=a1,a2,... runs the actions in order, each printing
//     exactly one line "VIVARIUM-RESULT <action> <ok|fail> <detail>" (see
//     [ParseResults]):
//     share-write:<tag> ([ShareWrite]) writes [ShareFileContent] to
//     /mnt/<tag>/[ShareFileName]; disk-write:<text> ([DiskWrite]) writes the
//     text, a newline and NUL padding to the first 512-byte sector of
//     /dev/vda; disk-read ([ActionDiskRead]) reports the first line of
//     /dev/vda; ports ([ActionPorts]) reports the virtio-serial port names,
//     comma-separated; poweroff ([ActionPoweroff]) powers off at once.
//     A failed action says why in its detail (a read-only share's error,
//     say).
//   - It then prints [IdleMarker] and idles, acpid still running
//     (vivarium.shell=1 gives a root shell on the serial console instead,
//     for a person poking at the guest).
//
// Markers and results are also written to the screen (tty0), so a
// screenshot shows them.
package testguest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Console markers the guest prints, each on a line of its own.
const (
	// ReadyMarker: modules loaded, shares mounted, acpid listening.
	ReadyMarker = "VIVARIUM-GUEST-READY"
	// IdleMarker: every action has run; the guest waits for the power button.
	IdleMarker = "VIVARIUM-GUEST-IDLE"
	// ResultMarker starts the one line each action prints.
	ResultMarker = "VIVARIUM-RESULT"
)

// Actions for [Cmdline]; share-write and disk-write take an argument, see
// [ShareWrite] and [DiskWrite].
const (
	ActionDiskRead = "disk-read"
	ActionPorts    = "ports"
	ActionPoweroff = "poweroff"
)

// What share-write leaves in the share.
const (
	ShareFileName    = "from-guest.txt"
	ShareFileContent = "hello from guest\n"
)

// ScriptPath is the build script, relative to the module root.
const ScriptPath = "scripts/testguest.sh"

// QEMUBinary is the emulator the real-guest tests run.
const QEMUBinary = "qemu-system-x86_64"

// ShareWrite is the action that writes [ShareFileName] into the share tag.
func ShareWrite(tag string) string { return "share-write:" + tag }

// DiskWrite is the action that writes text as the first line of /dev/vda.
// The text must not contain spaces or commas (it travels on the kernel
// command line).
func DiskWrite(text string) string { return "disk-write:" + text }

// Guest is a built test guest.
type Guest struct {
	Kernel string // vmlinux, for -kernel
	Initrd string // initrd.img, for -initrd
	Dir    string // the cache directory holding both
}

// Ensure returns the test guest, building it first with scripts/testguest.sh
// when the cache (DefaultDir) lacks it or holds an older recipe. A cold build
// downloads Debian's kernel package and takes under a minute; afterwards it
// costs a few milliseconds.
func Ensure(ctx context.Context) (Guest, error) {
	dir, err := DefaultDir()
	if err != nil {
		return Guest{}, err
	}
	script, err := ModuleFile(ScriptPath)
	if err != nil {
		return Guest{}, err
	}
	return ensureIn(ctx, script, dir)
}

func ensureIn(ctx context.Context, script, dir string) (Guest, error) {
	g := Guest{Kernel: filepath.Join(dir, "vmlinux"), Initrd: filepath.Join(dir, "initrd.img"), Dir: dir}
	if err := RunBuildScript(ctx, "the test guest", "make testguest", script, dir, g.Kernel, g.Initrd); err != nil {
		return Guest{}, err
	}
	return g, nil
}

// RunBuildScript runs a guest's build script (bash script dir), which
// returns at once when dir already holds the current build, and then checks
// that the files it promises are there. what names the guest and make the
// command that shows a person the build, for the error.
func RunBuildScript(ctx context.Context, what, make, script, dir string, files ...string) error {
	cmd := exec.CommandContext(ctx, "bash", script, dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("building %s with %s into %s: %w\n%s(run `%s` to see it build)",
			what, script, dir, err, lastLines(string(out), 20), make)
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s: %s did not build %w", what, script, err)
		}
	}
	return nil
}

// DefaultDir is where the guest is cached, the same place the script uses:
// $VIVARIUM_TESTGUEST_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/testguest.
func DefaultDir() (string, error) { return CacheDir("VIVARIUM_TESTGUEST_DIR", "testguest") }

// CacheDir is where a built guest is cached: $env when set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/name.
func CacheDir(env, name string) (string, error) {
	if d := os.Getenv(env); d != "" {
		return d, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%s cache: %w (set %s)", name, err, env)
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "vivarium", name), nil
}

// ModuleFile returns the path of rel (slash-separated, relative to the
// module root), found from the working directory (tests run in their
// package's directory) or, failing that, from this source file's directory.
func ModuleFile(rel string) (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			p := filepath.Join(dir, filepath.FromSlash(rel))
			if isFile(filepath.Join(dir, "go.mod")) && isFile(p) {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("no go.mod with %s above %s: run from inside the vivarium module", rel, strings.Join(starts, " or "))
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// QEMUAvailable returns the path of qemu-system-x86_64, or "" and why the
// real-guest tests cannot run, for t.Skip.
func QEMUAvailable() (path string, reason string) {
	path, err := exec.LookPath(QEMUBinary)
	if err != nil {
		return "", fmt.Sprintf("%s not found in PATH (%v): install it (Debian: apt-get install qemu-system-x86 qemu-utils) to run the real-guest tests", QEMUBinary, err)
	}
	return path, ""
}

// Cmdline returns the guest's whole kernel command line: the serial console
// (ttyS0, last, so it is /dev/console) and the screen, kernel chatter kept to
// warnings, and the shares to mount and the actions to run. Tags and actions must
// not contain spaces or commas.
func Cmdline(shares []string, actions []string) string {
	// no_timer_check: on a loaded host TCG fails the kernel's IO-APIC timer
	// check, which costs time and prints a bogus "MP-BIOS bug" error.
	parts := []string{"console=tty0", "console=ttyS0,115200", "quiet", "no_timer_check"}
	if len(shares) > 0 {
		parts = append(parts, "vivarium.shares="+strings.Join(shares, ","))
	}
	if len(actions) > 0 {
		parts = append(parts, "vivarium.actions="+strings.Join(actions, ","))
	}
	return strings.Join(parts, " ")
}

// Result is what the guest reported for one action.
type Result struct {
	Action string // as given, e.g. "share-write:data"
	OK     bool
	Detail string // may be empty, e.g. disk-read of a blank disk
}

// ParseResults returns the actions' results in the order the guest printed
// them. It takes the console text as written (CRLF line ends, kernel messages
// in between) and ignores lines that are not well-formed results.
func ParseResults(consoleText string) []Result {
	var results []Result
	for _, line := range strings.Split(consoleText, "\n") {
		i := strings.Index(line, ResultMarker+" ")
		if i < 0 {
			continue
		}
		fields := strings.SplitN(strings.TrimSpace(line[i+len(ResultMarker)+1:]), " ", 3)
		if len(fields) < 2 || (fields[1] != "ok" && fields[1] != "fail") {
			continue
		}
		r := Result{Action: fields[0], OK: fields[1] == "ok"}
		if len(fields) == 3 {
			r.Detail = strings.TrimSpace(fields[2])
		}
		results = append(results, r)
	}
	return results
}

// FindResult returns the first result for action.
func FindResult(results []Result, action string) (Result, bool) {
	for _, r := range results {
		if r.Action == action {
			return r, true
		}
	}
	return Result{}, false
}

// ErrMarkerNotSeen is returned (wrapped) by WaitForMarker when the context
// ends before the marker appears.
var ErrMarkerNotSeen = errors.New("marker not seen on the console")

// WaitForMarker polls the console file (QEMU's -serial file:PATH, or a VM's
// run/console.log) until it holds marker, and returns the console
// text read so far. A missing file counts as empty: QEMU may not have made it
// yet. When ctx ends first, the error carries the console's last lines.
func WaitForMarker(ctx context.Context, consolePath, marker string) (string, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(consolePath)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("console %s: %w", consolePath, err)
		}
		if text := string(b); strings.Contains(text, marker) {
			return text, nil
		}
		select {
		case <-ctx.Done():
			return string(b), fmt.Errorf("console %s: %w: %s (%w); last lines:\n%s",
				consolePath, ErrMarkerNotSeen, marker, context.Cause(ctx), lastLines(string(b), 15))
		case <-tick.C:
		}
	}
}

func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\r\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + strings.TrimRight(l, "\r") + "\n")
	}
	return b.String()
}
