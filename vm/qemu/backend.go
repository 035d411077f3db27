// Package qemu runs VMs with QEMU: on any host, with KVM on Linux, HVF on
// macOS and TCG emulation elsewhere. The command line is a pure function of
// the config and paths (Args); the running VM is driven over QMP.
package qemu

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/vivarium-vm/vivarium/vm"
)

// Backend starts VMs with QEMU.
type Backend struct {
	// QEMUPath is the qemu-system program, or the directory holding QEMU's
	// programs, from the preferences; empty searches PATH and the usual
	// install places.
	QEMUPath string
	// FirmwareDirs are searched for UEFI firmware; empty means
	// DefaultFirmwareDirs.
	FirmwareDirs []string
}

var (
	_ vm.Backend         = (*Backend)(nil)
	_ vm.ThrowawayMaker  = (*Backend)(nil)
	_ vm.ThrowawayKeeper = (*Backend)(nil)
)

// Name is the config's backend value.
func (b *Backend) Name() string { return vm.BackendQEMU }

// Check reports whether this host can run c with QEMU: QEMU for the
// guest's arch is installed, UEFI firmware is there for an EFI boot, and c
// asks for nothing only Apple Virtualization has.
func (b *Backend) Check(c *vm.Config) error {
	if c.OS == vm.OSMacOS || c.Boot.Mode == vm.BootMacOS {
		return fmt.Errorf("macOS guests: %w with qemu: they run only with the vz backend (Apple Virtualization) on an Apple silicon Mac", vm.ErrUnsupported)
	}
	if c.Rosetta {
		return fmt.Errorf("rosetta: %w with qemu: Rosetta for Linux is Apple's and comes only through Apple Virtualization (the vz backend on an Apple silicon Mac); turn it off to run this VM with qemu", vm.ErrUnsupported)
	}
	bin, err := findProgram(b.QEMUPath, SystemBinary(c.Arch))
	if err != nil {
		return err
	}
	if c.Boot.Mode == vm.BootEFI {
		if _, err := FindFirmware(c.Arch, b.firmwareDirs(bin)); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) firmwareDirs(bin string) []string {
	if len(b.FirmwareDirs) > 0 {
		return b.FirmwareDirs
	}
	return DefaultFirmwareDirs(bin)
}

// Start boots the VM and returns once QEMU's monitor reports it running.
// QEMU itself writes the serial console to run/console.log (spec.Console is
// not used: the file outlives the runner and `vivarium console` follows
// it); its own messages go to spec.Log.
func (b *Backend) Start(ctx context.Context, spec *vm.RunSpec) (vm.Instance, error) {
	c := spec.Config
	if err := b.Check(c); err != nil {
		return nil, err
	}
	bin, err := findProgram(b.QEMUPath, SystemBinary(c.Arch))
	if err != nil {
		return nil, err
	}
	version, err := ReadVersion(ctx, bin)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(bin, version); err != nil {
		return nil, err
	}
	if err := checkDisplay(runtime.GOOS, spec.Headless, os.Getenv); err != nil {
		return nil, err
	}
	host, accel, err := DetectHost(c)
	if err != nil {
		return nil, err
	}
	in := ArgsInput{
		Binary:   bin,
		Config:   c,
		Bundle:   spec.Bundle,
		Disks:    spec.Disks,
		EFIVars:  spec.EFIVars,
		Seed:     spec.Seed,
		Headless: spec.Headless,
		Host:     host,
	}
	if spec.Restore != "" {
		if in.Resume, err = readStateHeader(spec.Restore, spec.Headless); err != nil {
			return nil, err
		}
	}
	if c.Boot.Mode == vm.BootEFI {
		if in.Firmware, err = FindFirmware(c.Arch, b.firmwareDirs(bin)); err != nil {
			return nil, err
		}
		if in.EFIVars == "" {
			in.EFIVars = spec.Bundle.EFIVarsPath()
		}
		if err := EnsureEFIVars(in.EFIVars, in.Firmware); err != nil {
			return nil, err
		}
	}
	args, err := Args(in)
	if err != nil {
		return nil, err
	}
	if err := spec.Bundle.EnsureRunDir(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", c.Name, err)
	}
	// A socket left by a crashed run would refuse connections until QEMU
	// replaces it.
	if err := os.Remove(spec.Bundle.QMPSocketPath()); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("starting %s: stale monitor socket: %w", c.Name, err)
	}
	log := &syncWriter{w: spec.Log}
	if accel.Reason != "" {
		fmt.Fprintf(log, "qemu: accelerator: %s\n", accel.Reason)
	}
	reapOrphan(spec.Bundle.QEMUPIDPath(), log)
	if c.Audio && !spec.Headless && !AudioEnabled(in) {
		fmt.Fprintln(log, "qemu: the VM has no sound: this host has no PulseAudio (or PipeWire) server for QEMU to play to")
	}
	var viewer string
	if host.Viewer == ViewerSPICE {
		if viewer, err = exec.LookPath(ViewerProgram); err != nil {
			return nil, fmt.Errorf("starting %s: the SPICE viewer: %w (Debian/Ubuntu: apt-get install virt-viewer)", c.Name, err)
		}
		if err := os.Remove(spec.Bundle.SpiceSocketPath()); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("starting %s: stale SPICE socket: %w", c.Name, err)
		}
	} else if why := ClipboardUnavailable(host.OS, host.Viewer); why != "" && c.Clipboard && !spec.Headless {
		fmt.Fprintf(log, "qemu: the clipboard is not shared: %s\n", why)
	}
	fmt.Fprintf(log, "qemu: starting %s\n", shellJoin(args))
	inst, err := start(ctx, args, spec.Bundle, log, host.Accel, version)
	if err != nil {
		return nil, err
	}
	inst.disposable = spec.Disposable
	inst.headlessDevices = in.headlessDevices()
	if spec.Restore != "" {
		if err := inst.resumed(ctx, spec.Restore); err != nil {
			return nil, err
		}
	}
	if viewer == "" {
		return inst, nil
	}
	// QEMU makes the socket with its umask; only the VM's owner may see the
	// screen and type into it (run/ is private too).
	if err := os.Chmod(spec.Bundle.SpiceSocketPath(), 0o600); err != nil {
		inst.ForceStop(context.Background())
		return nil, fmt.Errorf("starting %s: SPICE socket: %w", c.Name, err)
	}
	return &spiceInstance{instance: inst, viewer: viewer}, nil
}

// checkDisplay refuses a VM window where there is no display to open it
// on (a Linux session without X11 or Wayland: ssh, a server, CI), before
// QEMU says so in a dozen lines.
func checkDisplay(goos string, headless bool, getenv func(string) string) error {
	if headless || goos != "linux" || getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != "" {
		return nil
	}
	return vm.WithHint(fmt.Errorf("%w: the VM's window needs a display, and this session has none (DISPLAY and WAYLAND_DISPLAY are not set)", vm.ErrNoDisplay),
		"start it without a window: vivarium start --headless NAME (its console: vivarium console NAME), or start it from a desktop session")
}

// MakeThrowaway makes a qcow2 overlay backed by base for a disposable run
// and returns its path (dst, with ".qcow2" added when missing). QEMU writes
// only the overlay and opens base read-only.
func (b *Backend) MakeThrowaway(ctx context.Context, base, dst string) (string, error) {
	absBase, err := filepath.Abs(base)
	if err != nil {
		return "", fmt.Errorf("throw-away disk for %s: %w", base, err)
	}
	if !strings.HasSuffix(dst, ".qcow2") {
		dst += ".qcow2"
	}
	if absDst, err := filepath.Abs(dst); err != nil || absDst == absBase {
		return "", fmt.Errorf("throw-away disk for %s: %s cannot be its own overlay", base, dst)
	}
	if _, err := os.Stat(absBase); err != nil {
		return "", fmt.Errorf("throw-away disk: %w", err)
	}
	img, err := findProgram(b.QEMUPath, "qemu-img")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", fmt.Errorf("throw-away disk for %s: %w", base, err)
	}
	cmd := exec.CommandContext(ctx, img, "create", "-q", "-f", "qcow2",
		"-b", absBase, "-F", diskFormat(absBase), dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("throw-away disk for %s: qemu-img create: %w: %s", base, err, strings.TrimSpace(string(out)))
	}
	return dst, nil
}

// shellJoin writes args as a shell command line, for the log.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// syncWriter serializes writes from QEMU's output and the event watcher;
// a nil w discards.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	if s.w == nil {
		return len(p), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
