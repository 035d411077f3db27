// Package desktopguest gets Vivarium's desktop test guest, a real Debian 12
// desktop built from Debian's packages by scripts/desktopguest.sh (`make
// desktopguest`) and cached, and reads what it reports, so that tests can
// prove what a person sees on a Linux desktop VM: the shared clipboard, the
// screen following the window, shared folders, a clean polite stop.
//
// # The guest
//
// Debian bookworm (debootstrap, minbase) with its kernel and initramfs kept
// beside the image, so a VM boots it with boot.mode "linux": Kernel, Initrd,
// and Cmdline (whose root= is [Guest.Root], a fixed filesystem UUID). The
// root filesystem is Image, a raw sparse ext4 file: it is a source; boot a
// copy (vm.CopyDisk), never the file itself.
//
//   - systemd boots with its console on ttyS0; no display manager and no
//     login. The ACPI power button (a polite stop) powers it off through
//     systemd-logind, unmounting the root filesystem cleanly.
//   - Every virtio-9p tag the VM offers is mounted at /mnt/<tag> before the
//     desktop starts.
//   - Xorg (modesetting on virtio-vga or virtio-gpu) runs on vt7 as root with
//     a session that runs spice-vdagent (spice-vdagentd runs with -X, so no
//     login session is needed) and shows an xterm with the screen size and
//     clipboard.
//   - When the share tagged [ReportTag] is mounted, the session reports
//     through it, replacing each file atomically: [ReportReady] once X and
//     the agent run, [ReportScreen] (WIDTHxHEIGHT) and [ReportClipboard]
//     (the CLIPBOARD text) on every change, [ReportShares] (one line per
//     mounted 9p share, "<tag> <mountpoint> <file,...>"). A file
//     [SetClipboardFile] put there becomes the guest's clipboard text, and
//     the session deletes it. Each report is also printed on the serial
//     console as "VIVARIUM-DESKTOP <name> <value>".
//   - cloud-init is installed with datasource_list [ NoCloud, None ]: with
//     no seed attached it stays disabled for that boot; with a NoCloud seed
//     (a "cidata" disk) it runs as usual.
//   - openssh-server is enabled, and systemd-networkd runs DHCP on every
//     ethernet interface.
package desktopguest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vivarium-vm/vivarium/internal/testguest"
)

// ScriptPath is the build script, relative to the module root.
const ScriptPath = "scripts/desktopguest.sh"

// ReportTag is the 9p share tag the guest's session reports through.
const ReportTag = "desktop-report"

// Files in the report share.
const (
	ReportReady      = "ready"     // "ready" once X and the SPICE agent run
	ReportScreen     = "screen"    // the screen size, WIDTHxHEIGHT
	ReportClipboard  = "clipboard" // the guest's CLIPBOARD text
	ReportShares     = "shares"    // "<tag> <mountpoint> <file,...>" per 9p share
	SetClipboardFile = "set-clipboard"
)

// ConsoleMarker starts each report line on the serial console.
const ConsoleMarker = "VIVARIUM-DESKTOP"

// Guest is a built desktop guest.
type Guest struct {
	Kernel string // vmlinuz, for boot.kernel / -kernel
	Initrd string // initrd.img, for boot.initrd / -initrd
	Image  string // root.img, raw ext4: boot a copy, never this file
	Root   string // the kernel's root= parameter, e.g. "root=UUID=..."
	Dir    string // the cache directory holding them
}

// Cmdline is the guest's whole kernel command line: the root filesystem,
// the serial console last (so systemd's messages reach console.log) and the
// screen.
func (g Guest) Cmdline() string {
	return g.Root + " rw console=tty0 console=ttyS0,115200 quiet"
}

// Ensure returns the desktop guest, building it first with
// scripts/desktopguest.sh when the cache (DefaultDir) lacks it or holds an
// older recipe. A cold build runs debootstrap and takes several minutes (and
// root); afterwards it costs a few milliseconds.
func Ensure(ctx context.Context) (Guest, error) {
	dir, err := DefaultDir()
	if err != nil {
		return Guest{}, err
	}
	script, err := testguest.ModuleFile(ScriptPath)
	if err != nil {
		return Guest{}, err
	}
	return ensureIn(ctx, script, dir)
}

func ensureIn(ctx context.Context, script, dir string) (Guest, error) {
	g := Guest{
		Kernel: filepath.Join(dir, "vmlinuz"),
		Initrd: filepath.Join(dir, "initrd.img"),
		Image:  filepath.Join(dir, "root.img"),
		Dir:    dir,
	}
	version := filepath.Join(dir, "VERSION")
	if err := testguest.RunBuildScript(ctx, "the desktop guest", "make desktopguest", script, dir, g.Kernel, g.Initrd, g.Image, version); err != nil {
		return Guest{}, err
	}
	root, err := rootParam(version)
	if err != nil {
		return Guest{}, err
	}
	g.Root = root
	return g, nil
}

// rootParam reads the "root UUID=..." line the script writes into VERSION.
func rootParam(version string) (string, error) {
	f, err := os.Open(version)
	if err != nil {
		return "", fmt.Errorf("desktop guest: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "root "); ok && strings.HasPrefix(v, "UUID=") {
			return "root=" + v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("desktop guest: %s: %w", version, err)
	}
	return "", fmt.Errorf("desktop guest: %s names no root filesystem (no \"root UUID=\" line): rebuild it with `make desktopguest` after deleting %s", version, filepath.Dir(version))
}

// DefaultDir is where the guest is cached, the same place the script uses:
// $VIVARIUM_DESKTOPGUEST_DIR, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/desktopguest.
func DefaultDir() (string, error) {
	return testguest.CacheDir("VIVARIUM_DESKTOPGUEST_DIR", "desktopguest")
}
