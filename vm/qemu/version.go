package qemu

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// Version is a QEMU release, as `qemu-system-x86_64 -version` prints it.
type Version struct{ Major, Minor, Micro int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro) }

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// What the arguments and the instance need of QEMU.
var (
	// MinVersion runs every VM Vivarium makes: qemu-vdagent, the clipboard's
	// host side, came in 6.1.
	MinVersion = Version{6, 1, 0}
	// pngScreendump: screendump writes PNG itself since 7.1.
	pngScreendump = Version{7, 1, 0}
)

var versionRE = regexp.MustCompile(`version (\d+)\.(\d+)(?:\.(\d+))?`)

// ParseVersion reads the first line of `qemu-system-* -version`.
func ParseVersion(out string) (Version, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return Version{}, fmt.Errorf("no version in %q", firstLine(out))
	}
	var v Version
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		v.Micro, _ = strconv.Atoi(m[3])
	}
	return v, nil
}

// ReadVersion asks the QEMU program bin for its version, once per start.
func ReadVersion(ctx context.Context, bin string) (Version, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-version").Output()
	if err != nil {
		return Version{}, fmt.Errorf("%s -version: %w", bin, err)
	}
	v, err := ParseVersion(string(out))
	if err != nil {
		return Version{}, fmt.Errorf("%s -version: %w", bin, err)
	}
	return v, nil
}

// checkVersion refuses a QEMU older than MinVersion, saying what to do.
func checkVersion(bin string, v Version) error {
	if v.AtLeast(MinVersion.Major, MinVersion.Minor) {
		return nil
	}
	return vm.WithHint(fmt.Errorf("%w: %s is QEMU %s; Vivarium needs QEMU %d.%d or later (for the SPICE agent's qemu-vdagent)",
		vm.ErrUnsupported, bin, v, MinVersion.Major, MinVersion.Minor),
		"install a newer QEMU (Debian 12 and Ubuntu 22.04 or later have one; macOS: brew install qemu), or name it in the preferences")
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
